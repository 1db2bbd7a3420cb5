import type { GeneratorSpec } from "@tailor/proto";
import type { ChatTurn, GenerateInput, GenerationResult, Passage } from "../types.js";
import { throwIfCancelled } from "./errors.js";
import { cleanText } from "./text.js";
import { estimateTokens } from "./tokens.js";

/** The answer when no passage supports one (no citations, so nothing is claimed). */
export const NO_ANSWER = "No retrieved passage answers this question.";

/** Yields {@link NO_ANSWER}: what every generator answers when retrieval found no passage. */
export async function* noAnswer(
  input: GenerateInput,
): AsyncGenerator<string, GenerationResult, void> {
  throwIfCancelled(input.signal);
  yield NO_ANSWER;
  return {
    promptTokens: estimateTokens(input.question),
    completionTokens: estimateTokens(NO_ANSWER),
    finishReason: "stop",
  };
}

/** New tokens when neither the request nor the spec sets a limit. */
export const DEFAULT_MAX_TOKENS = 256;

/**
 * The prompt of `onnx` and `openai` generators when the spec has none. `{{history}}` is
 * optional in a template (empty for `openai`, which sends earlier turns as messages).
 */
export const DEFAULT_PROMPT_TEMPLATE = `Answer the question using only the numbered passages below. End every sentence with the number of the passage that supports it in square brackets, like [1]. If the passages do not contain the answer, say that you do not know.

Passages:
{{context}}

{{history}}Question: {{question}}
Answer:`;

/** Characters of passage text put in a prompt, in all and per passage. */
export const MAX_CONTEXT_CHARS = 12_000;
export const MAX_PASSAGE_CONTEXT_CHARS = 4_000;
/** Characters of earlier turns put in a prompt (the most recent ones). */
export const MAX_HISTORY_CHARS = 4_000;

/**
 * The most new tokens of one answer: the request's limit capped by the spec's (the route's owner
 * sets the ceiling), the spec's when the request sets none, else {@link DEFAULT_MAX_TOKENS}.
 * The orchestrator reserves budget with the same number.
 */
export function effectiveMaxTokens(spec: GeneratorSpec, requested: number): number {
  const cap = spec.maxTokens > 0 ? spec.maxTokens : DEFAULT_MAX_TOKENS;
  return requested > 0 ? Math.min(requested, cap) : cap;
}

/** The numbered passages as the prompt shows them, within {@link MAX_CONTEXT_CHARS}. */
export function formatContext(passages: readonly Passage[]): string {
  const parts: string[] = [];
  let left = MAX_CONTEXT_CHARS;
  for (const p of passages) {
    if (left <= 0) break;
    const room = Math.min(left, MAX_PASSAGE_CONTEXT_CHARS);
    const text = cleanText(p.text.slice(0, room * 2)).slice(0, room);
    const title = cleanText(p.title.slice(0, 512)).slice(0, 200);
    const part = `[${p.number}]${title ? ` ${title}:` : ""} ${text}`;
    parts.push(part);
    left -= part.length;
  }
  return parts.join("\n\n");
}

/** Earlier turns as prompt lines, the most recent within {@link MAX_HISTORY_CHARS}. */
export function formatHistory(history: readonly ChatTurn[]): string {
  const lines: string[] = [];
  let left = MAX_HISTORY_CHARS;
  for (let i = history.length - 1; i >= 0 && left > 0; i--) {
    const t = history[i]!;
    const who = t.role === "user" ? "User" : t.role === "assistant" ? "Assistant" : "System";
    const line = `${who}: ${cleanText(t.content.slice(0, left * 2)).slice(0, left)}`;
    lines.unshift(line);
    left -= line.length;
  }
  return lines.length > 0 ? `Conversation so far:\n${lines.join("\n")}\n\n` : "";
}

/**
 * Fills `{{context}}`, `{{question}}` and `{{history}}` in one pass: a question or passage that
 * itself holds `{{context}}` is inserted as text, never expanded.
 */
export function renderPrompt(
  template: string,
  values: { context: string; question: string; history: string },
): string {
  return (template || DEFAULT_PROMPT_TEMPLATE).replace(
    /\{\{(context|question|history)\}\}/g,
    (_, key: "context" | "question" | "history") => values[key],
  );
}
