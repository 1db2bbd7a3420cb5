import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { GeneratorSpec, ModelService } from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";
import type { Generator } from "../types.js";
import { extractiveGenerator } from "./extractive.js";
import { onnxGenerator } from "./onnx.js";
import { openAiGenerator } from "./openai.js";

export { DEFAULT_MAX_SENTENCES } from "./extractive.js";
export {
  DEFAULT_MAX_TOKENS,
  DEFAULT_PROMPT_TEMPLATE,
  effectiveMaxTokens,
  NO_ANSWER,
} from "./prompt.js";
export { estimateTokens } from "./tokens.js";

export interface GeneratorDeps {
  models: Client<typeof ModelService>;
  logger: Logger;
  /** Where `openai` generators read their key (the variable named by `api_key_env`). */
  env: NodeJS.ProcessEnv;
}

/**
 * The generator of one registry version (`generator@v2`) of `spec` (as the registry checked
 * it; an empty kind is `extractive`). Cheap: no connection is made until `generate`. Throws
 * FAILED_PRECONDITION for a spec it cannot run.
 */
export function createGenerator(
  spec: GeneratorSpec,
  version: string,
  deps: GeneratorDeps,
): Generator {
  const kind = spec.kind || "extractive";
  switch (kind) {
    case "extractive":
      return extractiveGenerator(spec, version);
    case "onnx":
      return onnxGenerator(spec, version, deps);
    case "openai":
      return openAiGenerator(spec, version, deps);
    default:
      throw new ConnectError(
        `generator ${version}: unknown kind (extractive, onnx or openai)`,
        Code.FailedPrecondition,
      );
  }
}
