import { countTokens } from "@tailor/models";
import { DynamicBatcher } from "./runtime/batcher.js";
import type { OnnxEmbedder } from "./runtime/embedder.js";

export interface EmbeddedText {
  vector: Float32Array;
  tokens: number;
}

/** One loaded embedder behind a dynamic batcher that merges callers' texts into model calls. */
export class BatchedEmbedder {
  readonly batcher: DynamicBatcher<string, EmbeddedText>;

  constructor(
    readonly model: OnnxEmbedder,
    o: { maxBatchSize: number; maxQueueDelayMs: number; maxQueueItems: number; maxTokens: number },
  ) {
    this.batcher = new DynamicBatcher<string, EmbeddedText>({
      maxBatchSize: o.maxBatchSize,
      maxQueueDelayMs: o.maxQueueDelayMs,
      maxQueueItems: o.maxQueueItems,
      maxTokens: o.maxTokens,
      tokensOf: (t) => Math.min(countTokens(t), model.maxTokens),
      run: async (texts) => {
        const r = await model.embed(texts);
        const d = model.dimensions;
        return texts.map((_, i) => ({
          vector: r.vectors.subarray(i * d, (i + 1) * d),
          tokens: r.tokenCounts[i] ?? 0,
        }));
      },
    });
  }

  async close(): Promise<void> {
    await this.batcher.close();
    await this.model.close();
  }
}
