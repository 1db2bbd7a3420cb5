import { Code, ConnectError } from "@connectrpc/connect";
import type { GeneratorSpec } from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";
import OpenAI from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import type { GenerateInput, GenerationResult, Generator } from "../types.js";
import { throwIfCancelled, upstreamError } from "./errors.js";
import {
  effectiveMaxTokens,
  formatContext,
  MAX_HISTORY_CHARS,
  noAnswer,
  renderPrompt,
} from "./prompt.js";
import { cleanText, safeText } from "./text.js";
import { estimateTokens } from "./tokens.js";

/** How long one upstream call may take, from request to the stream's end. */
const UPSTREAM_TIMEOUT_MS = 300_000;
/**
 * Characters of answer accepted per allowed token: an upstream that ignores max_tokens is cut
 * here (finish reason `length`), so what one answer produces stays bounded.
 */
const CHARS_PER_TOKEN_CAP = 16;

export interface OpenAiDeps {
  logger: Logger;
  env: NodeJS.ProcessEnv;
}

/**
 * Any OpenAI-compatible upstream (vLLM, TGI, NIM, Ollama) by `base_url` and `model`, streamed;
 * the key is read from the gateway's environment variable named by `api_key_env`. Usage comes
 * from the stream's usage chunk (`stream_options.include_usage`), else it is estimated.
 */
export function openAiGenerator(spec: GeneratorSpec, version: string, deps: OpenAiDeps): Generator {
  const key = spec.apiKeyEnv ? deps.env[spec.apiKeyEnv] : undefined;
  const missingKey = spec.apiKeyEnv !== "" && !key;
  // Every option is explicit: the client would otherwise read OPENAI_API_KEY, OPENAI_BASE_URL,
  // OPENAI_ORG_ID… from the process and could send the gateway's own key to this upstream.
  const client = missingKey
    ? undefined
    : new OpenAI({
        apiKey: key ?? "unused",
        adminAPIKey: null,
        organization: null,
        project: null,
        webhookSecret: null,
        baseURL: spec.baseUrl,
        maxRetries: 0,
        timeout: UPSTREAM_TIMEOUT_MS,
        logLevel: "off",
        // Without a key no Authorization header is sent at all.
        ...(key ? {} : { defaultHeaders: { Authorization: null } }),
      });

  async function* generate(input: GenerateInput): AsyncGenerator<string, GenerationResult, void> {
    if (!client)
      throw new ConnectError(
        `generator ${version}: environment variable ${spec.apiKeyEnv} (api_key_env) is not set on the gateway`,
        Code.FailedPrecondition,
      );
    if (input.passages.length === 0) return yield* noAnswer(input);
    const messages = toMessages(spec, input);
    const maxTokens = effectiveMaxTokens(spec, input.maxTokens);
    const maxChars = maxTokens * CHARS_PER_TOKEN_CAP;
    let text = "";
    let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
    let finishReason: GenerationResult["finishReason"] = "stop";
    try {
      const stream = await client.chat.completions.create(
        {
          model: spec.model,
          messages,
          stream: true,
          stream_options: { include_usage: true },
          max_tokens: maxTokens,
          temperature: spec.temperature,
        },
        { signal: input.signal ?? null },
      );
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        if (choice.finish_reason === "length") finishReason = "length";
        const delta = choice.delta?.content;
        if (typeof delta !== "string" || delta === "") continue;
        const room = maxChars - text.length;
        const piece = delta.length > room ? delta.slice(0, room) : delta;
        text += piece;
        if (piece) yield piece;
        if (text.length >= maxChars) {
          // Leaving the loop ends the stream, which aborts the upstream request.
          finishReason = "length";
          break;
        }
      }
    } catch (err) {
      const e = upstreamError(err, version, spec.model, spec.apiKeyEnv, input.signal);
      if (e.code !== Code.Canceled)
        deps.logger.warn(
          { generator: version, model: spec.model, code: Code[e.code] },
          e.rawMessage,
        );
      throw e;
    }
    // The client ends an aborted stream quietly; a cancelled answer is not a finished one.
    throwIfCancelled(input.signal);
    if (usage && isCount(usage.prompt_tokens) && isCount(usage.completion_tokens))
      return {
        promptTokens: usage.prompt_tokens,
        completionTokens: usage.completion_tokens,
        finishReason,
      };
    return {
      promptTokens: messages.reduce((n, m) => n + estimateTokens(String(m.content)), 0),
      completionTokens: estimateTokens(text),
      finishReason,
    };
  }

  return { version, model: spec.model, spec, generate };
}

/** Earlier turns as messages (the most recent, within the history bound), then the prompt. */
function toMessages(spec: GeneratorSpec, input: GenerateInput): ChatCompletionMessageParam[] {
  const turns: ChatCompletionMessageParam[] = [];
  let left = MAX_HISTORY_CHARS;
  for (let i = input.history.length - 1; i >= 0 && left > 0; i--) {
    const t = input.history[i]!;
    const content = safeText(t.content.slice(0, left));
    left -= content.length;
    turns.unshift({ role: t.role, content });
  }
  const prompt = renderPrompt(spec.promptTemplate, {
    context: formatContext(input.passages),
    question: cleanText(input.question),
    history: "",
  });
  return [...turns, { role: "user", content: prompt }];
}

function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}
