import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { type ClassifyRequest, type ClassifyResponse, ClassifyResponseSchema } from "@tailor/proto";
import type { ModelRegistry } from "../registry.js";
import type { LabelScore } from "../runtime/encoder.js";
import { batcherError, checkTexts } from "./errors.js";

/** Classifies texts; every label per text, best first. Over-long texts are truncated. */
export async function classify(
  registry: ModelRegistry,
  req: ClassifyRequest,
  ctx: Pick<HandlerContext, "signal" | "timeoutMs">,
): Promise<ClassifyResponse> {
  checkTexts("texts", req.texts, registry.maxItemsPerCall);
  const model = registry.getKind(req.model, req.version, ["classifier"], "Classify");
  let results: LabelScore[][];
  try {
    results = await model.classify.submit(req.texts, {
      signal: ctx.signal,
      deadlineMs: ctx.timeoutMs(),
    });
  } catch (err) {
    throw batcherError(err, model.name);
  }
  return create(ClassifyResponseSchema, {
    model: model.name,
    version: model.version,
    results: results.map((labels) => ({ labels: labels.map((l) => ({ ...l })) })),
  });
}
