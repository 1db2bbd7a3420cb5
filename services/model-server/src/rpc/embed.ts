import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type EmbedRequest, type EmbedResponse, EmbedResponseSchema } from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import type { BatchedEmbedder, EmbeddedText } from "../embedder-pool.js";
import type { ModelRegistry } from "../registry.js";
import {
  BatcherClosedError,
  CancelledError,
  DeadlineExceededError,
  QueueFullError,
} from "../runtime/batcher.js";

const MAX_TEXTS = 4096;
const MAX_TEXT_BYTES = 1024 * 1024;

export async function embed(
  registry: ModelRegistry,
  req: EmbedRequest,
  o: { signal: AbortSignal; timeoutMs?: number },
): Promise<EmbedResponse> {
  if (req.texts.length === 0) throw invalidArgument("texts", "must not be empty");
  if (req.texts.length > MAX_TEXTS) throw invalidArgument("texts", `at most ${MAX_TEXTS} per call`);
  req.texts.forEach((t, i) => {
    if (t.length > MAX_TEXT_BYTES)
      throw invalidArgument(
        `texts[${i}]`,
        `longer than ${MAX_TEXT_BYTES} bytes; split it (words past the model's token limit are truncated anyway)`,
      );
  });
  const model: BatchedEmbedder = registry.embedder(req.model, req.version);
  let rows: EmbeddedText[];
  try {
    rows = await model.batcher.submit(req.texts, { signal: o.signal, deadlineMs: o.timeoutMs });
  } catch (err) {
    if (err instanceof QueueFullError)
      throw new ConnectError("embedding queue is full; retry with backoff", Code.ResourceExhausted);
    if (err instanceof DeadlineExceededError)
      throw new ConnectError("deadline passed while queued", Code.DeadlineExceeded);
    if (err instanceof CancelledError) throw new ConnectError("cancelled", Code.Canceled);
    if (err instanceof BatcherClosedError)
      throw new ConnectError("model is unloading", Code.Unavailable);
    throw err;
  }
  const d = model.model.dimensions;
  const out = new Float32Array(rows.length * d);
  for (const [i, r] of rows.entries()) out.set(r.vector, i * d);
  return create(EmbedResponseSchema, {
    model: model.model.name,
    version: model.model.version,
    dimensions: d,
    vectors: new Uint8Array(out.buffer),
    tokenCounts: rows.map((r) => r.tokens),
  });
}
