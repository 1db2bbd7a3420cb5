import type { PoolingMode } from "./hf-folder.js";

/**
 * Pools one row of [seqLen, dims] hidden states (right-padded, `length` real tokens) into `dst`:
 * the mean of the real tokens, the first ([CLS]) or the last real token.
 */
export function poolTokenVectors(
  hidden: Float32Array,
  offset: number,
  length: number,
  dims: number,
  mode: PoolingMode,
  dst: Float32Array,
): void {
  if (mode !== "mean") {
    const row = offset + (mode === "cls" ? 0 : Math.max(length - 1, 0)) * dims;
    dst.set(hidden.subarray(row, row + dims));
    return;
  }
  dst.fill(0);
  for (let t = 0; t < length; t++) {
    const row = offset + t * dims;
    for (let d = 0; d < dims; d++) dst[d]! += hidden[row + d]!;
  }
  const inv = 1 / Math.max(length, 1);
  for (let d = 0; d < dims; d++) dst[d]! *= inv;
}

/** Scales `v` to unit L2 norm in place; a zero vector stays zero. */
export function l2NormalizeInPlace(v: Float32Array): void {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  // A zero vector stays zero instead of becoming NaN.
  const inv = 1 / Math.max(Math.sqrt(sum), 1e-12);
  for (let i = 0; i < v.length; i++) v[i]! *= inv;
}

/** Softmax probabilities of one row of logits. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = Float64Array.from(logits, (x) => Math.exp(x - max));
  let sum = 0;
  for (const x of out) sum += x;
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** Element-wise logistic sigmoid (multi-label probabilities). */
export function sigmoid(logits: ArrayLike<number>): Float64Array {
  return Float64Array.from(logits, (x) => 1 / (1 + Math.exp(-x)));
}
