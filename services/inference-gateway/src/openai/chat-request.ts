import type { TextRule } from "@tailor/service";
import type { ChatTurn, RouteRequest } from "../types.js";
import { invalidRequest } from "./errors.js";
import {
  array,
  boolean,
  integer,
  model,
  object,
  optional,
  routeOf,
  routingKey,
  string,
  type TailorOptions,
  tailorOptions,
} from "./fields.js";

/** A `POST /v1/chat/completions` body, checked. */
export interface ChatCompletionRequest {
  model: string;
  route: RouteRequest;
  question: string;
  history: ChatTurn[];
  /** 0: the generator's default. */
  maxTokens: number;
  stream: boolean;
  includeUsage: boolean;
  tailor: TailorOptions;
}

const MAX_MESSAGES = 512;
const MAX_TOKENS = 1_000_000;

export function parseChatRequest(
  raw: unknown,
  o: { maxQuestionChars: number; maxK: number; routingKeyHeader: string | undefined },
): ChatCompletionRequest {
  const body = object(raw, null);
  const name = model(body);
  const key = routingKey(o.routingKeyHeader, body);
  const rule: TextRule = { maxBytes: o.maxQuestionChars * 3, control: "whitespace" };
  const messages = array(body["messages"] ?? null, "messages", MAX_MESSAGES).map((m, i) =>
    message(m, `messages[${i}]`, rule, o.maxQuestionChars),
  );
  const last = messages.pop();
  if (!last) throw invalidRequest("messages", "must hold at least one message");
  if (last.role !== "user") {
    throw invalidRequest(
      `messages[${messages.length}].role`,
      `the last message must be the user's question, not ${last.role}'s`,
    );
  }
  if (last.content.trim() === "") {
    throw invalidRequest(`messages[${messages.length}].content`, "is required");
  }
  const n = optional(body, "n", (v, f) => integer(v, f, 1, 1_000_000));
  if (n !== undefined && n !== 1) throw invalidRequest("n", "only 1 choice is supported");
  for (const f of ["tools", "functions"]) {
    const v = body[f];
    if (Array.isArray(v) && v.length > 0) {
      throw invalidRequest(f, "tool calling is not supported by Tailor's generators");
    }
  }
  const maxTokens =
    optional(body, "max_completion_tokens", (v, f) => integer(v, f, 1, MAX_TOKENS)) ??
    optional(body, "max_tokens", (v, f) => integer(v, f, 1, MAX_TOKENS)) ??
    0;
  const stream = optional(body, "stream", boolean) ?? false;
  const streamOptions = optional(body, "stream_options", object);
  const includeUsage =
    (streamOptions &&
      optional(streamOptions, "include_usage", boolean, "stream_options.include_usage")) ??
    false;
  return {
    model: name,
    route: routeOf(name, key),
    question: last.content,
    history: messages,
    maxTokens,
    stream,
    includeUsage,
    tailor: tailorOptions(body, o.maxK),
  };
}

const ROLES: Record<string, ChatTurn["role"]> = {
  user: "user",
  assistant: "assistant",
  system: "system",
  // OpenAI's newer name for system instructions.
  developer: "system",
};

function message(raw: unknown, field: string, rule: TextRule, maxChars: number): ChatTurn {
  const m = object(raw, field);
  const roleName = string(m["role"] ?? null, `${field}.role`, {
    maxBytes: 32,
    required: true,
    control: "reject",
  });
  const role = Object.hasOwn(ROLES, roleName) ? ROLES[roleName] : undefined;
  if (!role) {
    throw invalidRequest(
      `${field}.role`,
      "must be user, assistant, system or developer (tool messages are not supported)",
    );
  }
  const content = messageContent(m["content"], `${field}.content`, role, rule);
  if (content.length > maxChars) {
    throw invalidRequest(
      `${field}.content`,
      `is ${content.length} characters, over the limit of ${maxChars}`,
    );
  }
  return { role, content };
}

/** A string, or text parts joined; null only for an assistant turn (it had tool calls). */
function messageContent(v: unknown, field: string, role: string, rule: TextRule): string {
  if ((v === null || v === undefined) && role === "assistant") return "";
  if (typeof v === "string" || v === null || v === undefined) return string(v ?? null, field, rule);
  const parts = array(v, field, 256).map((p, j) => {
    const part = object(p, `${field}[${j}]`);
    if (part["type"] !== "text") {
      throw invalidRequest(`${field}[${j}].type`, 'only "text" parts are supported');
    }
    return string(part["text"] ?? null, `${field}[${j}].text`, rule);
  });
  return parts.join("\n");
}
