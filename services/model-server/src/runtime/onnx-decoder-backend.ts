import * as ort from "onnxruntime-node";
import type { DecoderBackend } from "./decode-scheduler.js";

/** The config.json fields the decoder reads (Hugging Face names). */
export interface DecoderShape {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
}

const INITIAL_CACHE_SLACK = 32;

/** One sequence's keys and values per layer, each laid out [kvHeads, capacity, headDim]. */
export class KvCache {
  length = 0;
  capacity: number;
  keys: Float32Array[];
  values: Float32Array[];

  constructor(
    private readonly layers: number,
    private readonly kvHeads: number,
    private readonly headDim: number,
    capacity: number,
  ) {
    this.capacity = capacity;
    const size = kvHeads * capacity * headDim;
    this.keys = Array.from({ length: layers }, () => new Float32Array(size));
    this.values = Array.from({ length: layers }, () => new Float32Array(size));
  }

  get bytes(): number {
    return 2 * this.layers * this.kvHeads * this.capacity * this.headDim * 4;
  }

  /** Doubles capacity when full, so appends are amortised O(1). */
  reserve(length: number, limit: number): void {
    if (length <= this.capacity) return;
    const next = Math.min(Math.max(length, this.capacity * 2), Math.max(limit, length));
    const d = this.headDim;
    const grow = (old: Float32Array) => {
      const out = new Float32Array(this.kvHeads * next * d);
      for (let h = 0; h < this.kvHeads; h++) {
        out.set(
          old.subarray(h * this.capacity * d, (h * this.capacity + this.length) * d),
          h * next * d,
        );
      }
      return out;
    };
    this.keys = this.keys.map(grow);
    this.values = this.values.map(grow);
    this.capacity = next;
  }
}

/** Runs the ONNX decoder: per-sequence prefill, then batched single-token steps over left-padded pasts. */
export class OnnxDecoderBackend implements DecoderBackend<KvCache> {
  readonly vocabSize: number;
  readonly maxPositions: number;
  private readonly layers: number;
  private readonly kvHeads: number;
  private readonly headDim: number;

  constructor(
    private readonly session: ort.InferenceSession,
    shape: DecoderShape,
  ) {
    this.vocabSize = shape.vocabSize;
    this.maxPositions = shape.maxPositions;
    this.layers = shape.layers;
    this.kvHeads = shape.kvHeads;
    this.headDim = shape.headDim;
  }

  cacheLength(cache: KvCache): number {
    return cache.length;
  }

  async prefill(ids: readonly number[]): Promise<{ logits: Float32Array; cache: KvCache }> {
    const n = ids.length;
    const { kvHeads, headDim: d } = this;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, n]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(n).fill(1n), [1, n]),
      position_ids: new ort.Tensor(
        "int64",
        BigInt64Array.from(ids, (_, i) => BigInt(i)),
        [1, n],
      ),
    };
    // Optimum models take an empty past ([1, kv, 0, hd]) rather than a separate no-past graph.
    const empty = new Float32Array(0);
    for (let l = 0; l < this.layers; l++) {
      feeds[`past_key_values.${l}.key`] = new ort.Tensor("float32", empty, [1, kvHeads, 0, d]);
      feeds[`past_key_values.${l}.value`] = new ort.Tensor("float32", empty, [1, kvHeads, 0, d]);
    }
    const out = await this.session.run(feeds);
    const cache = new KvCache(
      this.layers,
      kvHeads,
      d,
      Math.min(this.maxPositions, n + INITIAL_CACHE_SLACK),
    );
    for (let l = 0; l < this.layers; l++) {
      copyPresent(out, `present.${l}.key`, cache.keys[l]!, kvHeads, n, d, cache.capacity);
      copyPresent(out, `present.${l}.value`, cache.values[l]!, kvHeads, n, d, cache.capacity);
    }
    cache.length = n;
    const logits = tensorData(out, "logits");
    const row = logits.slice((n - 1) * this.vocabSize, n * this.vocabSize);
    disposeAll(out);
    return { logits: row, cache };
  }

  async decode(batch: readonly { token: number; cache: KvCache }[]): Promise<Float32Array> {
    const n = batch.length;
    const { kvHeads, headDim: d } = this;
    let past = 0;
    for (const { cache } of batch) past = Math.max(past, cache.length);
    const total = past + 1;
    const ids = new BigInt64Array(n);
    const positions = new BigInt64Array(n);
    const mask = new BigInt64Array(n * total);
    batch.forEach(({ token, cache }, i) => {
      ids[i] = BigInt(token);
      // Each row keeps its own positions; left padding only shifts where its past sits.
      positions[i] = BigInt(cache.length);
      mask.fill(1n, i * total + (past - cache.length), (i + 1) * total);
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", ids, [n, 1]),
      attention_mask: new ort.Tensor("int64", mask, [n, total]),
      position_ids: new ort.Tensor("int64", positions, [n, 1]),
    };
    const dims = [n, kvHeads, past, d];
    for (let l = 0; l < this.layers; l++) {
      feeds[`past_key_values.${l}.key`] = new ort.Tensor(
        "float32",
        this.padPast(batch, l, "keys", past),
        dims,
      );
      feeds[`past_key_values.${l}.value`] = new ort.Tensor(
        "float32",
        this.padPast(batch, l, "values", past),
        dims,
      );
    }
    const out = await this.session.run(feeds);
    // Only the new token's key and value (slot `past` of each row) are new; the rest is our input.
    for (let l = 0; l < this.layers; l++) {
      const keys = tensorData(out, `present.${l}.key`);
      const values = tensorData(out, `present.${l}.value`);
      batch.forEach(({ cache }, i) => {
        cache.reserve(cache.length + 1, this.maxPositions);
        for (let h = 0; h < kvHeads; h++) {
          const src = ((i * kvHeads + h) * total + past) * d;
          const dst = (h * cache.capacity + cache.length) * d;
          cache.keys[l]!.set(keys.subarray(src, src + d), dst);
          cache.values[l]!.set(values.subarray(src, src + d), dst);
        }
      });
    }
    for (const { cache } of batch) cache.length++;
    const logits = tensorData(out, "logits").slice();
    disposeAll(out);
    return logits;
  }

  /** [n, kv, past, hd] with each row's cache right-aligned and zeros (masked) before it. */
  private padPast(
    batch: readonly { cache: KvCache }[],
    layer: number,
    kind: "keys" | "values",
    past: number,
  ): Float32Array {
    const { kvHeads, headDim: d } = this;
    const buf = new Float32Array(batch.length * kvHeads * past * d);
    batch.forEach(({ cache }, i) => {
      const src = cache[kind][layer]!;
      const len = cache.length;
      for (let h = 0; h < kvHeads; h++) {
        const from = h * cache.capacity * d;
        buf.set(src.subarray(from, from + len * d), ((i * kvHeads + h) * past + past - len) * d);
      }
    });
    return buf;
  }
}

function tensorData(out: ort.InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const t = out[name];
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`model returned no float ${name}`);
  return t.data;
}

function copyPresent(
  out: ort.InferenceSession.OnnxValueMapType,
  name: string,
  dst: Float32Array,
  kvHeads: number,
  len: number,
  d: number,
  capacity: number,
): void {
  const src = tensorData(out, name);
  for (let h = 0; h < kvHeads; h++) {
    dst.set(src.subarray(h * len * d, (h + 1) * len * d), h * capacity * d);
  }
}

function disposeAll(out: ort.InferenceSession.OnnxValueMapType): void {
  for (const t of Object.values(out)) t.dispose();
}
