import type { PoolingMode } from "../hf/hf-folder.js";
import {
  BERT_LAYER_NORM_EPS,
  type BertShape,
  type BertWeights,
  type TinyBert,
} from "./bert-onnx.js";

/** Output of {@link referenceBert} for one unpadded sequence. */
export interface ReferenceBertOutput {
  /** [length, hidden] row-major. */
  readonly hidden: Float64Array;
  /** [numLabels]; empty for head "none". */
  readonly logits: Float64Array;
}

/**
 * The maths of {@link buildTinyBert}'s graph in plain Float64 TypeScript, for one sequence without
 * padding. Comparing it with padded, batched ONNX output also checks the attention mask.
 */
export function referenceBert(
  model: TinyBert,
  ids: ArrayLike<number>,
  typeIds?: ArrayLike<number>,
): ReferenceBertOutput {
  const { shape: s, weights: w } = model;
  const n = ids.length;
  const h = s.hidden;
  let x = new Float64Array(n * h);
  for (let t = 0; t < n; t++) {
    const id = ids[t]!;
    const type = typeIds?.[t] ?? 0;
    for (let d = 0; d < h; d++) {
      let v = w.word[id * h + d]! + w.position[t * h + d]!;
      if (s.typeVocab > 0) v += w.tokenType[type * h + d]!;
      x[t * h + d] = v;
    }
  }
  x = layerNorm(x, n, h, w.embNormScale, w.embNormBias);
  for (const lw of w.layers) {
    const q = linear(x, n, h, h, lw.q, lw.qBias);
    const k = linear(x, n, h, h, lw.k, lw.kBias);
    const v = linear(x, n, h, h, lw.v, lw.vBias);
    const context = attention(q, k, v, n, s);
    const attnOut = linear(context, n, h, h, lw.out, lw.outBias);
    for (let i = 0; i < attnOut.length; i++) attnOut[i]! += x[i]!;
    const x1 = layerNorm(attnOut, n, h, lw.attnNormScale, lw.attnNormBias);
    const up = linear(x1, n, h, s.intermediate, lw.ff1, lw.ff1Bias);
    for (let i = 0; i < up.length; i++) up[i] = gelu(up[i]!);
    const down = linear(up, n, s.intermediate, h, lw.ff2, lw.ff2Bias);
    for (let i = 0; i < down.length; i++) down[i]! += x1[i]!;
    x = layerNorm(down, n, h, lw.ffNormScale, lw.ffNormBias);
  }
  return { hidden: x, logits: s.head === "none" ? new Float64Array(0) : headLogits(x, s, w) };
}

/** Pools [length, hidden] token vectors into one sentence vector, optionally L2-normalised. */
export function referencePool(
  hidden: Float64Array,
  length: number,
  dims: number,
  mode: PoolingMode,
  normalize: boolean,
): Float64Array {
  const out = new Float64Array(dims);
  if (mode === "mean") {
    for (let t = 0; t < length; t++)
      for (let d = 0; d < dims; d++) out[d]! += hidden[t * dims + d]!;
    for (let d = 0; d < dims; d++) out[d]! /= Math.max(length, 1);
  } else {
    const row = mode === "cls" ? 0 : length - 1;
    out.set(hidden.subarray(row * dims, (row + 1) * dims));
  }
  return normalize ? l2Normalize(out) : out;
}

/** `v / ‖v‖₂` (a zero vector stays zero). */
export function l2Normalize(v: Float64Array): Float64Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.max(Math.sqrt(sum), 1e-12);
  return v.map((x) => x / norm);
}

/** Softmax of logits. */
export function referenceSoftmax(logits: ArrayLike<number>): Float64Array {
  const a = Float64Array.from(logits);
  const max = Math.max(...a);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    a[i] = Math.exp(a[i]! - max);
    sum += a[i]!;
  }
  return a.map((x) => x / sum);
}

/** Element-wise logistic sigmoid. */
export function referenceSigmoid(logits: ArrayLike<number>): Float64Array {
  return Float64Array.from(logits, (x) => 1 / (1 + Math.exp(-x)));
}

/** `x · W + b` for one vector, W row-major [in, out] (the adapter's maths). */
export function referenceLinear(
  x: ArrayLike<number>,
  w: Float32Array,
  b: Float32Array,
): Float64Array {
  const outDim = b.length;
  const out = Float64Array.from(b);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    for (let o = 0; o < outDim; o++) out[o]! += xi * w[i * outDim + o]!;
  }
  return out;
}

function linear(
  x: Float64Array,
  rows: number,
  inDim: number,
  outDim: number,
  w: Float32Array,
  b: Float32Array,
): Float64Array {
  const out = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    out.set(referenceLinear(x.subarray(r * inDim, (r + 1) * inDim), w, b), r * outDim);
  }
  return out;
}

function layerNorm(
  x: Float64Array,
  rows: number,
  dims: number,
  scale: Float32Array,
  bias: Float32Array,
) {
  const out = new Float64Array(rows * dims);
  for (let r = 0; r < rows; r++) {
    const base = r * dims;
    let mean = 0;
    for (let d = 0; d < dims; d++) mean += x[base + d]!;
    mean /= dims;
    let variance = 0;
    for (let d = 0; d < dims; d++) variance += (x[base + d]! - mean) ** 2;
    variance /= dims;
    const inv = 1 / Math.sqrt(variance + BERT_LAYER_NORM_EPS);
    for (let d = 0; d < dims; d++)
      out[base + d] = (x[base + d]! - mean) * inv * scale[d]! + bias[d]!;
  }
  return out;
}

function attention(q: Float64Array, k: Float64Array, v: Float64Array, n: number, s: BertShape) {
  const h = s.hidden;
  const dh = s.headDim;
  const scale = 1 / Math.sqrt(dh);
  const out = new Float64Array(n * h);
  const scores = new Float64Array(n);
  for (let head = 0; head < s.heads; head++) {
    const off = head * dh;
    for (let i = 0; i < n; i++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let d = 0; d < dh; d++) dot += q[i * h + off + d]! * k[j * h + off + d]!;
        scores[j] = dot * scale;
        max = Math.max(max, scores[j]!);
      }
      let sum = 0;
      for (let j = 0; j < n; j++) {
        scores[j] = Math.exp(scores[j]! - max);
        sum += scores[j]!;
      }
      for (let j = 0; j < n; j++) {
        const p = scores[j]! / sum;
        for (let d = 0; d < dh; d++) out[i * h + off + d]! += p * v[j * h + off + d]!;
      }
    }
  }
  return out;
}

function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

// Abramowitz–Stegun 7.1.26 is only good to 1.5e-7; this series/continued-fraction pair is good to
// ~1e-15, so the reference's own error never eats into the 1e-4 test tolerance.
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1)).
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 60; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * sum * (2 / Math.sqrt(Math.PI));
  }
  // Continued fraction for erfc(x), evaluated bottom-up (Lentz not needed for x ≥ 2.5).
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

function headLogits(x: Float64Array, s: BertShape, w: BertWeights): Float64Array {
  const cls = x.subarray(0, s.hidden);
  const pooled = referenceLinear(cls, w.pooler, w.poolerBias).map(Math.tanh);
  return referenceLinear(pooled, w.classifier, w.classifierBias);
}
