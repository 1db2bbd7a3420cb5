import { type LlamaWeights, ropeInverseFrequencies } from "./llama-weights.js";

/** Keys and values of every layer for one sequence, each [kvHeads, length, headDim]. */
export interface LlamaCache {
  readonly length: number;
  readonly keys: readonly Float32Array[];
  readonly values: readonly Float32Array[];
}

/** Output of {@link LlamaReference.forward}. */
export interface LlamaReferenceOutput {
  /** [tokens, vocabSize], row-major. */
  readonly logits: Float32Array;
  /** The cache after these tokens: the past followed by their keys and values. */
  readonly cache: LlamaCache;
}

/**
 * The Llama maths of `buildLlamaGraph` in plain TypeScript, one sequence at a time, for checking the
 * graph. Accumulates in float64 and rounds stored activations to float32, like the graph does.
 */
export class LlamaReference {
  private readonly invFreq: Float32Array;

  constructor(private readonly w: LlamaWeights) {
    this.invFreq = ropeInverseFrequencies(w.headDim, w.spec.ropeTheta);
  }

  /** An empty cache (P = 0). */
  emptyCache(): LlamaCache {
    const n = this.w.spec.layers;
    return {
      length: 0,
      keys: Array.from({ length: n }, () => new Float32Array(0)),
      values: Array.from({ length: n }, () => new Float32Array(0)),
    };
  }

  /** Runs `ids` after `past` (positions continue from `past.length`); no past means a fresh sequence. */
  forward(ids: readonly number[], past: LlamaCache = this.emptyCache()): LlamaReferenceOutput {
    const { spec, headDim: d } = this.w;
    const { hidden, heads, kvHeads, vocabSize } = spec;
    const s = ids.length;
    const p = past.length;
    const t = p + s;
    const group = heads / kvHeads;
    const x = new Float32Array(s * hidden);
    ids.forEach((id, i) => {
      if (id < 0 || id >= vocabSize) throw new Error(`token id ${id} out of range`);
      x.set(this.w.embed.subarray(id * hidden, (id + 1) * hidden), i * hidden);
    });
    const keys: Float32Array[] = [];
    const values: Float32Array[] = [];
    const scale = 1 / Math.sqrt(d);
    for (let l = 0; l < spec.layers; l++) {
      const lw = this.w.layers[l]!;
      const h = this.rmsNorm(x, lw.inputNorm, s);
      const q = matmul(h, lw.q, s, hidden, heads * d);
      const k = matmul(h, lw.k, s, hidden, kvHeads * d);
      const v = matmul(h, lw.v, s, hidden, kvHeads * d);
      for (let i = 0; i < s; i++) {
        for (let hh = 0; hh < heads; hh++) this.rope(q, (i * heads + hh) * d, p + i);
        for (let hh = 0; hh < kvHeads; hh++) this.rope(k, (i * kvHeads + hh) * d, p + i);
      }
      // Append to the cache in its [kv, t, d] layout.
      const kAll = new Float32Array(kvHeads * t * d);
      const vAll = new Float32Array(kvHeads * t * d);
      for (let kh = 0; kh < kvHeads; kh++) {
        kAll.set(past.keys[l]!.subarray(kh * p * d, (kh + 1) * p * d), kh * t * d);
        vAll.set(past.values[l]!.subarray(kh * p * d, (kh + 1) * p * d), kh * t * d);
        for (let i = 0; i < s; i++) {
          const src = (i * kvHeads + kh) * d;
          kAll.set(k.subarray(src, src + d), (kh * t + p + i) * d);
          vAll.set(v.subarray(src, src + d), (kh * t + p + i) * d);
        }
      }
      keys.push(kAll);
      values.push(vAll);
      const ctx = new Float32Array(s * heads * d);
      const scores = new Float64Array(t);
      for (let i = 0; i < s; i++) {
        const visible = p + i + 1;
        for (let hh = 0; hh < heads; hh++) {
          const kh = Math.floor(hh / group);
          const qOff = (i * heads + hh) * d;
          let max = Number.NEGATIVE_INFINITY;
          for (let j = 0; j < visible; j++) {
            let dot = 0;
            const kOff = (kh * t + j) * d;
            for (let e = 0; e < d; e++) dot += q[qOff + e]! * kAll[kOff + e]!;
            scores[j] = dot * scale;
            if (scores[j]! > max) max = scores[j]!;
          }
          let sum = 0;
          for (let j = 0; j < visible; j++) {
            scores[j] = Math.exp(scores[j]! - max);
            sum += scores[j]!;
          }
          for (let e = 0; e < d; e++) {
            let acc = 0;
            for (let j = 0; j < visible; j++) acc += scores[j]! * vAll[(kh * t + j) * d + e]!;
            ctx[qOff + e] = acc / sum;
          }
        }
      }
      const attn = matmul(ctx, lw.o, s, heads * d, hidden);
      for (let i = 0; i < x.length; i++) x[i] = x[i]! + attn[i]!;
      const h2 = this.rmsNorm(x, lw.postNorm, s);
      const inter = spec.intermediate;
      const gate = matmul(h2, lw.gate, s, hidden, inter);
      const up = matmul(h2, lw.up, s, hidden, inter);
      for (let i = 0; i < gate.length; i++) {
        const g = gate[i]!;
        gate[i] = (g / (1 + Math.exp(-g))) * up[i]!;
      }
      const down = matmul(gate, lw.down, s, inter, hidden);
      for (let i = 0; i < x.length; i++) x[i] = x[i]! + down[i]!;
    }
    const final = this.rmsNorm(x, this.w.finalNorm, s);
    return {
      logits: matmul(final, this.w.lmHead, s, hidden, vocabSize),
      cache: { length: t, keys, values },
    };
  }

  /** Greedy continuation of `prompt` by `steps` tokens, one cached forward per token. */
  greedy(prompt: readonly number[], steps: number): number[] {
    const out: number[] = [];
    let { logits, cache } = this.forward(prompt);
    let row = logits.subarray((prompt.length - 1) * this.w.spec.vocabSize);
    for (let i = 0; i < steps; i++) {
      const next = argmax(row);
      out.push(next);
      ({ logits, cache } = this.forward([next], cache));
      row = logits;
    }
    return out;
  }

  private rmsNorm(x: Float32Array, gain: Float32Array, rows: number): Float32Array {
    const hidden = this.w.spec.hidden;
    const out = new Float32Array(x.length);
    for (let r = 0; r < rows; r++) {
      let ss = 0;
      for (let i = 0; i < hidden; i++) ss += x[r * hidden + i]! ** 2;
      const inv = 1 / Math.sqrt(ss / hidden + this.w.rmsNormEps);
      for (let i = 0; i < hidden; i++) out[r * hidden + i] = x[r * hidden + i]! * inv * gain[i]!;
    }
    return out;
  }

  /** HF rotate-half rotary embedding of one head vector, in place. */
  private rope(buf: Float32Array, off: number, position: number): void {
    const half = this.w.headDim / 2;
    for (let i = 0; i < half; i++) {
      // Rounded like the graph's float32 Mul, so large positions do not drift from it.
      const angle = Math.fround(position * this.invFreq[i]!);
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const lo = buf[off + i]!;
      const hi = buf[off + half + i]!;
      buf[off + i] = lo * cos - hi * sin;
      buf[off + half + i] = hi * cos + lo * sin;
    }
  }
}

/** Index of the largest value; the first on ties. */
export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

function matmul(a: Float32Array, b: Float32Array, rows: number, inner: number, cols: number) {
  const out = new Float32Array(rows * cols);
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    for (let k = 0; k < inner; k++) {
      const av = a[r * inner + k]!;
      const bOff = k * cols;
      for (let c = 0; c < cols; c++) acc[c] = acc[c]! + av * b[bOff + c]!;
    }
    out.set(acc, r * cols);
  }
  return out;
}
