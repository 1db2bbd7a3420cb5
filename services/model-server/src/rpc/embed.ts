import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { type EmbedRequest, type EmbedResponse, EmbedResponseSchema } from "@tailor/proto";
import type { ModelRegistry } from "../registry.js";
import type { EmbeddedText } from "../served-model.js";
import { batcherError, checkTexts } from "./errors.js";

/**
 * Embeds texts with any loaded embedder or adapter (the default embedder when `model` is empty).
 * Texts beyond the model's token limit are truncated; `token_counts` reports what it saw.
 */
export async function embed(
  registry: ModelRegistry,
  req: EmbedRequest,
  ctx: Pick<HandlerContext, "signal" | "timeoutMs">,
): Promise<EmbedResponse> {
  checkTexts("texts", req.texts, registry.maxItemsPerCall);
  const model = registry.getKind(req.model, req.version, ["embedder", "adapter"], "Embed");
  let rows: EmbeddedText[];
  try {
    rows = await model.embed.submit(req.texts, { signal: ctx.signal, deadlineMs: ctx.timeoutMs() });
  } catch (err) {
    throw batcherError(err, model.name);
  }
  const d = model.dimensions;
  const out = new Float32Array(rows.length * d);
  for (const [i, r] of rows.entries()) out.set(r.vector, i * d);
  return create(EmbedResponseSchema, {
    model: model.name,
    version: model.version,
    dimensions: d,
    vectors: new Uint8Array(out.buffer),
    tokenCounts: rows.map((r) => r.tokens),
  });
}
