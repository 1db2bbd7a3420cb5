import type { LinearReranker } from "@tailor/proto";

/** Deepest a reranker may reach (the most candidates a side may contribute). */
const MAX_DEPTH = 5000;

/** A checked LinearReranker: score = Σ weight · (feature − mean) / std over named features. */
export interface LinearModel {
  features: string[];
  weights: Float64Array;
  mean: Float64Array;
  std: Float64Array;
  /** Fused candidates it reorders; 0: all of them. */
  depth: number;
}

/** The reranker as a model, or why it cannot be one. */
export function linearModel(r: LinearReranker): LinearModel | string {
  const n = r.features.length;
  if (n === 0) return "has no features";
  if (r.weights.length !== n || r.mean.length !== n || r.std.length !== n)
    return `features (${n}), weights (${r.weights.length}), mean (${r.mean.length}) and std (${r.std.length}) differ in length`;
  for (const [i, name] of r.features.entries()) {
    // Any name the registry accepts; one this service does not compute simply counts 0.
    if (name === "" || name.length > 128)
      return `features[${i}] is not a name of 1..128 characters`;
    if (r.features.indexOf(name) !== i) return `features[${i}] repeats ${name}`;
  }
  for (const [field, values] of [
    ["weights", r.weights],
    ["mean", r.mean],
    ["std", r.std],
  ] as const) {
    const bad = values.findIndex((v) => !Number.isFinite(v) || (field === "std" && v < 0));
    if (bad >= 0) return `${field}[${bad}] is not a finite number${field === "std" ? " ≥ 0" : ""}`;
  }
  if (r.depth > MAX_DEPTH) return `depth ${r.depth} is over ${MAX_DEPTH}`;
  return {
    features: [...r.features],
    weights: Float64Array.from(r.weights),
    mean: Float64Array.from(r.mean),
    std: Float64Array.from(r.std),
    depth: r.depth,
  };
}

/**
 * The model's score of one candidate. A feature the candidate lacks (a name this service does
 * not compute) counts as its mean, i.e. 0 after standardisation; so does one with std 0 (it
 * was constant in training and says nothing).
 */
export function linearScore(m: LinearModel, features: Readonly<Record<string, number>>): number {
  let s = 0;
  for (let i = 0; i < m.features.length; i++) {
    const x = features[m.features[i]!];
    const sd = m.std[i]!;
    if (x === undefined || sd === 0) continue;
    s += m.weights[i]! * ((x - m.mean[i]!) / sd);
  }
  return s;
}

/**
 * Reorders the first `depth` (all when 0) of `ranked` (fused order) by the model's score; ties
 * go to the higher fused score, then the smaller id. The rest keep their fused order after them.
 */
export function rerank<T extends { id: string; score: number }>(
  m: LinearModel,
  ranked: readonly T[],
  featuresOf: (c: T) => Readonly<Record<string, number>>,
): T[] {
  const n = m.depth === 0 ? ranked.length : Math.min(m.depth, ranked.length);
  const head = ranked.slice(0, n).map((c) => ({ c, s: linearScore(m, featuresOf(c)) }));
  head.sort(
    (a, b) =>
      b.s - a.s || b.c.score - a.c.score || (a.c.id < b.c.id ? -1 : a.c.id > b.c.id ? 1 : 0),
  );
  return [...head.map((h) => h.c), ...ranked.slice(n)];
}
