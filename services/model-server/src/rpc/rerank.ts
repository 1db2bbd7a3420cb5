import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { type RerankRequest, type RerankResponse, RerankResponseSchema } from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import type { ModelRegistry } from "../registry.js";
import { batcherError, checkTexts, MAX_TEXT_CHARS } from "./errors.js";

/**
 * Scores each passage against the query with a cross-encoder. Pairs longer than the model's
 * token limit are truncated longest-segment-first, as Hugging Face tokenizers do.
 */
export async function rerank(
  registry: ModelRegistry,
  req: RerankRequest,
  ctx: Pick<HandlerContext, "signal" | "timeoutMs">,
): Promise<RerankResponse> {
  if (!req.query) throw invalidArgument("query", "must not be empty");
  if (req.query.length > MAX_TEXT_CHARS)
    throw invalidArgument("query", `longer than ${MAX_TEXT_CHARS} characters`);
  checkTexts("passages", req.passages, registry.maxItemsPerCall);
  const model = registry.getKind(req.model, req.version, ["reranker"], "Rerank");
  let scores: number[];
  try {
    scores = await model.rerank.submit(
      req.passages.map((passage) => ({ query: req.query, passage })),
      { signal: ctx.signal, deadlineMs: ctx.timeoutMs() },
    );
  } catch (err) {
    throw batcherError(err, model.name);
  }
  return create(RerankResponseSchema, { model: model.name, version: model.version, scores });
}
