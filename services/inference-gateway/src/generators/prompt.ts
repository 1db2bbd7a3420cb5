import type { GeneratorSpec } from "@tailor/proto";
import type { GenerateInput, GenerationResult } from "../types.js";
import { throwIfCancelled } from "./errors.js";
import { estimateTokens } from "./tokens.js";

export {
  DEFAULT_PROMPT_TEMPLATE,
  formatContext,
  formatHistory,
  MAX_HISTORY_CHARS,
  ragPrompt,
  renderPrompt,
} from "@tailor/clients";

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
 * The most new tokens of one answer: the request's limit capped by the spec's (the route's owner
 * sets the ceiling), the spec's when the request sets none, else {@link DEFAULT_MAX_TOKENS}.
 * The orchestrator reserves budget with the same number.
 */
export function effectiveMaxTokens(spec: GeneratorSpec, requested: number): number {
  const cap = spec.maxTokens > 0 ? spec.maxTokens : DEFAULT_MAX_TOKENS;
  return requested > 0 ? Math.min(requested, cap) : cap;
}
