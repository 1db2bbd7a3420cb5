import { isValidToken } from "@tailor/bus";
import {
  checkText,
  FieldError,
  ID_RULE,
  KEY_RULE,
  type TextRule,
  textProblem,
} from "@tailor/service";
import type { GatewayConfig } from "../config.js";
import type { ChatTurn, RouteRequest } from "../types.js";

// Every check throws FieldError naming the field as the client wrote it (INVALID_ARGUMENT at the
// RPC boundary); no message quotes the value.

const ALIAS = /^[a-z0-9-]{1,32}$/;
const VERSION = /^[a-z0-9-]{1,64}@v[1-9][0-9]{0,8}$/;
const OPTIONAL_ID: TextRule = { ...ID_RULE, required: false };
/** As retrieval bounds a metadata filter's values. */
const VALUE_RULE: TextRule = { maxBytes: 8192, control: "whitespace" };
const MAX_SOURCES = 100;
const MAX_METADATA = 64;
const MAX_TURNS = 200;
/** Largest answer a request may ask for (each generator caps it lower). */
export const MAX_TOKENS_LIMIT = 1 << 20;

type Limits = Pick<GatewayConfig, "maxQuestionChars" | "maxK" | "defaultK">;

/** A question or message: required, at most `maxQuestionChars`, no NUL, surrogates or controls. */
export function checkQuestion(field: string, value: string, limits: Limits): string {
  if (value.trim() === "") throw new FieldError(field, "is required");
  if (value.length > limits.maxQuestionChars)
    throw new FieldError(
      field,
      `is ${value.length} characters, over the limit of ${limits.maxQuestionChars}`,
    );
  const problem = textProblem(value, {
    maxBytes: limits.maxQuestionChars * 3,
    control: "whitespace",
  });
  if (problem) throw new FieldError(field, problem);
  return value;
}

/** Earlier turns of a conversation (the question is checked apart). */
export function checkHistory(
  history: readonly ChatTurn[],
  limits: Limits,
  field: (i: number) => string,
): void {
  if (history.length > MAX_TURNS)
    throw new FieldError(
      "messages",
      `has ${history.length + 1} messages, over the limit of ${MAX_TURNS}`,
    );
  let total = 0;
  for (const [i, t] of history.entries()) {
    total += t.content.length;
    const problem = textProblem(t.content, {
      maxBytes: limits.maxQuestionChars * 3,
      control: "whitespace",
    });
    if (problem) throw new FieldError(field(i), problem);
    if (t.content.length > limits.maxQuestionChars)
      throw new FieldError(
        field(i),
        `is ${t.content.length} characters, over the limit of ${limits.maxQuestionChars}`,
      );
  }
  // A conversation is bounded as a whole too: what it makes the generator read.
  const most = limits.maxQuestionChars * 8;
  if (total > most)
    throw new FieldError("messages", `hold ${total} characters, over the limit of ${most}`);
}

export function checkRoute(route: RouteRequest, prefix = "route."): RouteRequest {
  if (route.alias) {
    checkText(`${prefix}alias`, route.alias, ID_RULE);
    if (!ALIAS.test(route.alias))
      throw new FieldError(`${prefix}alias`, "must be prod, canary or [a-z0-9-]{1,32}");
  }
  if (route.version) {
    checkText(`${prefix}version`, route.version, ID_RULE);
    if (!VERSION.test(route.version))
      throw new FieldError(`${prefix}version`, "must be an exact <model>@v<n> (retrieval@v3)");
  }
  checkText(`${prefix}routing_key`, route.routingKey, OPTIONAL_ID);
  return route;
}

/** Passages to retrieve: 0 is the gateway's default. */
export function checkK(k: number, limits: Limits, field = "k"): number {
  if (!Number.isInteger(k) || k < 0) throw new FieldError(field, "must be a whole number ≥ 0");
  if (k > limits.maxK) throw new FieldError(field, `is ${k}, over the limit of ${limits.maxK}`);
  return k === 0 ? limits.defaultK : k;
}

export function checkSources(sources: readonly string[], field = "sources"): void {
  if (sources.length > MAX_SOURCES)
    throw new FieldError(field, `has ${sources.length} entries, over the limit of ${MAX_SOURCES}`);
  for (const [i, s] of sources.entries()) {
    checkText(`${field}[${i}]`, s, ID_RULE);
    // Sources are subject tokens everywhere in Tailor.
    if (!isValidToken(s)) throw new FieldError(`${field}[${i}]`, "must match [A-Za-z0-9_-]{1,128}");
  }
}

export function checkMetadata(
  metadata: Readonly<Record<string, string>>,
  field = "metadata",
): void {
  const entries = Object.entries(metadata);
  if (entries.length > MAX_METADATA)
    throw new FieldError(field, `has ${entries.length} entries, over the limit of ${MAX_METADATA}`);
  for (const [i, [k, v]] of entries.entries()) {
    const problem = textProblem(k, KEY_RULE);
    // The key is not quoted: it may be anything; its position says which.
    if (problem) throw new FieldError(`${field} key #${i + 1}`, problem);
    checkText(`${field}[${k}]`, v, VALUE_RULE);
  }
}

export function checkMaxTokens(maxTokens: number, field = "max_tokens"): number {
  if (!Number.isInteger(maxTokens) || maxTokens < 0)
    throw new FieldError(field, "must be a whole number ≥ 0");
  if (maxTokens > MAX_TOKENS_LIMIT)
    throw new FieldError(field, `is ${maxTokens}, over the limit of ${MAX_TOKENS_LIMIT}`);
  return maxTokens;
}

/** The most of a question retrieval takes as its query, in UTF-8 bytes (its own limit). */
export const RETRIEVAL_QUERY_BYTES = 4096;

/**
 * The start of a long question that retrieval searches with (the generator still reads it all),
 * cut at a character boundary within RETRIEVAL_QUERY_BYTES.
 */
export function retrievalQuery(question: string): string {
  if (question.length * 3 <= RETRIEVAL_QUERY_BYTES) return question;
  let bytes = 0;
  let end = 0;
  for (const ch of question) {
    const n = Buffer.byteLength(ch, "utf8");
    if (bytes + n > RETRIEVAL_QUERY_BYTES) break;
    bytes += n;
    end += ch.length;
  }
  return question.slice(0, end);
}
