import { type BertHead, buildTinyBert, type TinyBert } from "./bert-onnx.js";

/** The shape of all-MiniLM-L6-v2 (random weights), for benchmarks. */
export const MINILM_SHAPE = {
  layers: 6,
  hidden: 384,
  heads: 12,
  intermediate: 1536,
  maxPositions: 512,
  typeVocab: 2,
} as const;

/** Options of {@link buildMiniLmShaped}. */
export interface MiniLmOptions {
  /** Defaults to BERT's 30,522; a smaller table only shrinks the (cheap) embedding lookup. */
  readonly vocabSize?: number;
  readonly head?: BertHead;
  readonly seed?: number;
}

/**
 * A MiniLM-L6-shaped BERT (6 layers, hidden 384, 12 heads, intermediate 1536, 512 positions) with
 * random weights: the same compute per token as the real model, so latency benches are
 * representative; its outputs mean nothing. About 90 MB at the full vocabulary.
 */
export function buildMiniLmShaped(opts: MiniLmOptions = {}): TinyBert {
  return buildTinyBert({
    ...MINILM_SHAPE,
    vocabSize: opts.vocabSize ?? 30522,
    head: opts.head ?? "none",
    seed: opts.seed ?? 42,
  });
}
