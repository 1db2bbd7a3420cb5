import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type TokenizeRequest, type TokenizeResponse, TokenizeResponseSchema } from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import type { ModelRegistry } from "../registry.js";
import { ModelKindError } from "../runtime/encoder.js";
import { checkTexts } from "./errors.js";

/**
 * Tokenizes texts (or text pairs) with a model's tokenizer. Encoders truncate to their max length,
 * exactly as they do before inference; causal LMs do not truncate. `add_special_tokens` is a
 * plain proto3 bool, so it defaults to false: ask for true to see what the model sees.
 */
export async function tokenize(
  registry: ModelRegistry,
  req: TokenizeRequest,
): Promise<TokenizeResponse> {
  checkTexts("texts", req.texts, registry.maxItemsPerCall);
  if (req.textPairs.length > 0 && req.textPairs.length !== req.texts.length) {
    throw invalidArgument(
      "text_pairs",
      `must be empty or one per text: ${req.texts.length} texts, ${req.textPairs.length} pairs`,
    );
  }
  if (req.textPairs.length > 0) checkTexts("text_pairs", req.textPairs, registry.maxItemsPerCall);
  const model = registry.get(req.model, req.version);
  try {
    const results = model.tokenize(req.texts, {
      addSpecialTokens: req.addSpecialTokens,
      ...(req.textPairs.length > 0 && { pairs: req.textPairs }),
    });
    return create(TokenizeResponseSchema, { results });
  } catch (err) {
    if (err instanceof ModelKindError) throw new ConnectError(err.message, Code.FailedPrecondition);
    throw err;
  }
}
