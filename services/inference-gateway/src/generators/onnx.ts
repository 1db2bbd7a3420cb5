import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { FinishReason, type GeneratorSpec, type ModelService } from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";
import type { GenerateInput, GenerationResult, Generator } from "../types.js";
import { modelServerError, throwIfCancelled } from "./errors.js";
import { effectiveMaxTokens, noAnswer, ragPrompt } from "./prompt.js";

export interface OnnxDeps {
  models: Client<typeof ModelService>;
  logger: Logger;
}

/**
 * A causal LM on the model-server, named exactly (`name@version`): the prompt is the spec's
 * template over the numbered passages; deltas, usage and finish reason are the model-server's.
 */
export function onnxGenerator(spec: GeneratorSpec, version: string, deps: OnnxDeps): Generator {
  const at = spec.model.indexOf("@");
  if (at <= 0 || at === spec.model.length - 1)
    throw new ConnectError(
      `generator ${version}: model must be an exact name@version`,
      Code.FailedPrecondition,
    );
  const name = spec.model.slice(0, at);
  const modelVersion = spec.model.slice(at + 1);
  async function* generate(input: GenerateInput): AsyncGenerator<string, GenerationResult, void> {
    if (input.passages.length === 0) return yield* noAnswer(input);
    const prompt = ragPrompt(spec.promptTemplate, input);
    const params = {
      maxTokens: effectiveMaxTokens(spec, input.maxTokens),
      temperature: spec.temperature,
    };
    let result: GenerationResult | undefined;
    try {
      const stream = deps.models.generate(
        { model: name, version: modelVersion, prompt, params },
        { signal: input.signal },
      );
      for await (const m of stream) {
        if (m.delta) yield m.delta;
        if (m.usage)
          result = {
            promptTokens: m.usage.promptTokens,
            completionTokens: m.usage.completionTokens,
            finishReason: m.finishReason === FinishReason.LENGTH ? "length" : "stop",
          };
      }
    } catch (err) {
      const e = modelServerError(err, version, spec.model, input.signal);
      if (e.code !== Code.Canceled)
        deps.logger.warn(
          { generator: version, model: spec.model, code: Code[e.code] },
          e.rawMessage,
        );
      throw e;
    }
    throwIfCancelled(input.signal);
    if (!result)
      throw new ConnectError(
        `generator ${version} (${spec.model}): the model-server ended without usage`,
        Code.Unavailable,
      );
    return result;
  }
  return { version, model: spec.model, spec, generate };
}
