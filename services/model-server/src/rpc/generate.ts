import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import {
  FinishReason,
  type GenerateRequest,
  type GenerateResponse,
  GenerateResponseSchema,
  type GenerationParams as GenerationParamsMessage,
} from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import type { ModelRegistry } from "../registry.js";
import {
  GenerationClosedError,
  type GenerationEvent,
  type GenerationParams,
  GenerationParamsError,
  GenerationQueueFullError,
  PromptTooLongError,
  type FinishReason as RuntimeFinishReason,
} from "../runtime/causal-lm.js";
import { MAX_TEXT_CHARS } from "./errors.js";

const MAX_STOP_SEQUENCES = 16;
const MAX_STOP_CHARS = 256;

/**
 * Streams a continuation: one message per decoded delta (text plus its token ids), then a last
 * message with an empty delta, the finish reason and usage. Every message names model and
 * version. Cancelling the call frees the stream's batch slot at the next decoding step.
 */
export async function* generate(
  registry: ModelRegistry,
  req: GenerateRequest,
  ctx: Pick<HandlerContext, "signal">,
): AsyncGenerator<GenerateResponse> {
  if (!req.prompt) throw invalidArgument("prompt", "must not be empty");
  if (req.prompt.length > MAX_TEXT_CHARS)
    throw invalidArgument("prompt", `longer than ${MAX_TEXT_CHARS} characters`);
  const params = toParams(req.params);
  const model = registry.getKind(req.model, req.version, ["causal-lm"], "Generate");
  if (params.maxTokens !== undefined && params.maxTokens >= model.maxPositions) {
    throw invalidArgument(
      "params.max_tokens",
      `must be below the model's context of ${model.maxPositions} positions, got ${params.maxTokens}`,
    );
  }
  const ids = { model: model.name, version: model.version };
  const release = model.track();
  try {
    let events: AsyncIterable<GenerationEvent>;
    try {
      events = model.lm.generate(req.prompt, params, ctx.signal);
    } catch (err) {
      throw generationError(err, model.name, ctx.signal);
    }
    try {
      for await (const e of events) {
        if ("delta" in e) {
          yield create(GenerateResponseSchema, { ...ids, delta: e.delta, tokenIds: e.tokenIds });
        } else {
          yield create(GenerateResponseSchema, {
            ...ids,
            finishReason: finishReason(e.finish),
            usage: {
              promptTokens: e.usage.promptTokens,
              completionTokens: e.usage.completionTokens,
            },
          });
        }
      }
    } catch (err) {
      throw generationError(err, model.name, ctx.signal);
    }
  } finally {
    release();
  }
}

/** Proto defaults (0) mean "unset"; everything else is checked here so errors name proto fields. */
function toParams(p: GenerationParamsMessage | undefined): Partial<GenerationParams> {
  if (!p) return {};
  if (!Number.isFinite(p.temperature) || p.temperature < 0)
    throw invalidArgument("params.temperature", `must be ≥ 0, got ${p.temperature}`);
  if (!Number.isFinite(p.topP) || p.topP < 0 || p.topP > 1)
    throw invalidArgument("params.top_p", `must be in [0, 1], got ${p.topP}`);
  if (!Number.isFinite(p.repetitionPenalty) || p.repetitionPenalty < 0)
    throw invalidArgument(
      "params.repetition_penalty",
      `must be ≥ 0 (0 or 1 disables it), got ${p.repetitionPenalty}`,
    );
  if (p.stop.length > MAX_STOP_SEQUENCES)
    throw invalidArgument("params.stop", `at most ${MAX_STOP_SEQUENCES} sequences`);
  p.stop.forEach((s, i) => {
    if (s.length > MAX_STOP_CHARS)
      throw invalidArgument(`params.stop[${i}]`, `longer than ${MAX_STOP_CHARS} characters`);
  });
  if (p.seed > BigInt(Number.MAX_SAFE_INTEGER))
    throw invalidArgument("params.seed", `must be at most ${Number.MAX_SAFE_INTEGER}`);
  return {
    ...(p.maxTokens > 0 && { maxTokens: p.maxTokens }),
    temperature: p.temperature,
    topK: p.topK,
    topP: p.topP === 0 ? 1 : p.topP,
    repetitionPenalty: p.repetitionPenalty === 0 ? 1 : p.repetitionPenalty,
    stop: p.stop,
    ...(p.seed !== 0n && { seed: Number(p.seed) }),
  };
}

function finishReason(f: RuntimeFinishReason): FinishReason {
  switch (f) {
    case "stop":
      return FinishReason.STOP;
    case "length":
      return FinishReason.LENGTH;
    case "stop_sequence":
      return FinishReason.STOP_SEQUENCE;
    default: {
      const never: never = f;
      throw new Error(`unknown finish reason ${String(never)}`);
    }
  }
}

function generationError(err: unknown, model: string, signal: AbortSignal): unknown {
  if (err instanceof ConnectError) return err;
  if (err instanceof GenerationQueueFullError)
    return new ConnectError(
      `${model}: too many generations running; retry with backoff`,
      Code.ResourceExhausted,
    );
  if (err instanceof PromptTooLongError) return invalidArgument("prompt", err.message);
  if (err instanceof GenerationParamsError) return invalidArgument("params", err.message);
  if (err instanceof GenerationClosedError)
    return new ConnectError(`${model} is unloading`, Code.Unavailable);
  // The runtime ends the stream with the abort reason; Connect's reason says timeout or cancel.
  if (signal.aborted) return ConnectError.from(signal.reason, Code.Canceled);
  return err;
}
