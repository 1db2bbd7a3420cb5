import { mulberry32 } from "@tailor/models/random";
import { isHeldOut } from "./pair-stream.js";

/** One query's candidates: `features` row-major [candidates × features], graded labels (0: not relevant). */
export interface RankingQuery {
  readonly id: string;
  readonly features: Float64Array;
  readonly labels: ArrayLike<number>;
}

/** A linear scoring function over standardised features: score = Σ w·(x − mean)/std. */
export interface LinearRankerModel {
  readonly features: readonly string[];
  readonly weights: readonly number[];
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export interface RerankerTrainingOptions {
  readonly seed: number;
  /** L2 penalty on the weights (default 1e-3). */
  readonly l2?: number;
  /** Initial SGD step (default 0.002), decayed as lr / (1 + 0.1 · epoch). */
  readonly lr?: number;
  readonly maxEpochs?: number;
  /** Stop after this many epochs in a row without a validation improvement (default 5). */
  readonly patience?: number;
  /** Share of the queries (seeded hash of their position) kept for early stopping (default 0.25). */
  readonly validationFraction?: number;
  /** Preference pairs sampled per query at most (default 5000). */
  readonly maxPairsPerQuery?: number;
  /** Weights to start from, in standardised units (default zero: every candidate ties). */
  readonly initial?: ArrayLike<number>;
  /** Called after every epoch. */
  readonly onEpoch?: (e: RerankerEpoch) => void;
}

export interface RerankerEpoch {
  readonly epoch: number;
  /** Mean pairwise logistic loss over the epoch's training pairs. */
  readonly trainLoss: number;
  /** Mean pairwise logistic loss over the validation queries' pairs (what early stopping watches). */
  readonly validLoss: number;
  /** Mean nDCG@10 of the validation queries reranked by the current weights. */
  readonly validNdcg10: number;
}

export interface RerankerTrainingResult {
  readonly model: LinearRankerModel;
  readonly bestEpoch: number;
  /** Validation nDCG@10 of the returned weights, and of the candidates in their given order. */
  readonly validNdcg10: number;
  readonly validLoss: number;
  readonly baselineValidNdcg10: number;
  readonly trainQueries: number;
  readonly validQueries: number;
  readonly trainPairs: number;
  readonly history: readonly RerankerEpoch[];
}

/** The training data cannot train a ranker (no preference pairs, mismatched shapes). */
export class RerankerDataError extends Error {
  override readonly name = "RerankerDataError";
  readonly code = "reranker_data_invalid";
}

/**
 * Trains a linear pairwise ranker (RankNet's logistic loss on pairs of candidates of one query
 * whose labels differ) by seeded SGD with L2, on standardised features. Queries, not pairs,
 * are split into a training and a validation fold by a seeded hash, so early stopping measures
 * what reranking unseen queries does; the weights of the best validation epoch are returned.
 * The same data and seed give the same bits.
 */
export function trainLinearRanker(
  queries: readonly RankingQuery[],
  featureNames: readonly string[],
  o: RerankerTrainingOptions,
): RerankerTrainingResult {
  const f = featureNames.length;
  if (f === 0) throw new RerankerDataError("no features");
  for (const q of queries)
    if (q.features.length !== q.labels.length * f)
      throw new RerankerDataError(
        `query ${q.id}: ${q.features.length} feature values for ${q.labels.length} candidates × ${f} features`,
      );
  const l2 = o.l2 ?? 1e-3;
  const lr0 = o.lr ?? 0.002;
  const maxEpochs = o.maxEpochs ?? 50;
  const patience = o.patience ?? 5;
  const fraction = o.validationFraction ?? 0.25;
  const maxPairs = o.maxPairsPerQuery ?? 5000;
  const { mean, std } = standardiser(queries, f);
  const std_ = queries.map((q) => standardise(q.features, mean, std, f));
  const usable = queries
    .map((q, i) => ({ q, x: std_[i]!, i }))
    .filter(({ q }) => hasPair(q.labels));
  if (usable.length === 0)
    throw new RerankerDataError("no query has a relevant and a less relevant candidate");
  // With too few queries to spare, every query trains and validates (early stopping then only
  // guards against overshooting); otherwise a seeded share of the queries is held out.
  let valid = usable.filter((u) => isHeldOut(o.seed, u.i, fraction));
  let train = usable.filter((u) => !isHeldOut(o.seed, u.i, fraction));
  if (valid.length === 0 || train.length === 0) {
    valid = usable;
    train = usable;
  }
  const rng = mulberry32(o.seed);
  const pairs = collectPairs(train, maxPairs, rng);
  const validPairs = collectPairs(valid, maxPairs, mulberry32(o.seed ^ 0x9e3779b9));
  const w = new Float64Array(f);
  if (o.initial) for (let k = 0; k < f; k++) w[k] = o.initial[k] ?? 0;
  const validScore = (weights: Float64Array) =>
    mean0(valid.map((u) => ndcg10(rankBy(u.x, weights, f), u.q.labels)));
  const baselineValidNdcg10 = mean0(
    valid.map((u) => ndcg10(identityOrder(u.q.labels.length), u.q.labels)),
  );
  // Early stopping watches the validation pairs' loss, which is smooth where nDCG@10 of a few
  // queries jumps; the weights of its best epoch (never the untrained start) are returned.
  let best: { w: Float64Array; loss: number; score: number; epoch: number } | undefined;
  const history: RerankerEpoch[] = [];
  let bad = 0;
  const order = new Uint32Array(pairs.count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  for (let epoch = 1; epoch <= maxEpochs; epoch++) {
    shuffleInPlace(order, rng);
    const lr = lr0 / (1 + 0.1 * (epoch - 1));
    let lossSum = 0;
    for (const p of order) {
      const a = pairs.a[p]!;
      const b = pairs.b[p]!;
      const x = pairs.x[p]!;
      const margin = pairMargin(w, x, a, b, f);
      lossSum += logistic(margin);
      const g = 1 / (1 + Math.exp(margin)); // −∂loss/∂margin
      for (let k = 0; k < f; k++)
        w[k] = w[k]! + lr * (g * (x[a * f + k]! - x[b * f + k]!) - l2 * w[k]!);
    }
    let validSum = 0;
    for (let p = 0; p < validPairs.count; p++)
      validSum += logistic(pairMargin(w, validPairs.x[p]!, validPairs.a[p]!, validPairs.b[p]!, f));
    const validLoss = validPairs.count > 0 ? validSum / validPairs.count : 0;
    const e = {
      epoch,
      trainLoss: pairs.count > 0 ? lossSum / pairs.count : 0,
      validLoss,
      validNdcg10: validScore(w),
    };
    history.push(e);
    o.onEpoch?.(e);
    if (!best || validLoss < best.loss - 1e-9) {
      best = { w: w.slice(), loss: validLoss, score: e.validNdcg10, epoch };
      bad = 0;
    } else if (++bad >= patience) break;
  }
  if (!best) throw new RerankerDataError("maxEpochs must be at least 1");
  return {
    model: { features: [...featureNames], weights: Array.from(best.w), mean, std },
    bestEpoch: best.epoch,
    validNdcg10: best.score,
    validLoss: best.loss,
    baselineValidNdcg10,
    trainQueries: train.length,
    validQueries: valid.length,
    trainPairs: pairs.count,
    history,
  };
}

/** Scores of one query's candidates under a model (row-major raw features). */
export function scoreLinearRanker(model: LinearRankerModel, features: Float64Array): Float64Array {
  const f = model.features.length;
  const n = features.length / f;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < f; k++)
      s += model.weights[k]! * ((features[i * f + k]! - model.mean[k]!) / model.std[k]!);
    out[i] = s;
  }
  return out;
}

function pairMargin(w: Float64Array, x: Float64Array, a: number, b: number, f: number): number {
  let m = 0;
  for (let k = 0; k < f; k++) m += w[k]! * (x[a * f + k]! - x[b * f + k]!);
  return m;
}

/** log(1 + e^−m), without overflow for either sign of m. */
function logistic(m: number): number {
  return m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m));
}

/** nDCG@10 of candidates taken in `order` (indices), with the ideal from the same candidates. */
export function ndcg10(order: ArrayLike<number>, labels: ArrayLike<number>): number {
  let dcg = 0;
  for (let r = 0; r < Math.min(10, order.length); r++) {
    const g = labels[order[r]!]!;
    if (g > 0) dcg += (2 ** g - 1) / Math.log2(r + 2);
  }
  const ideal = Array.from(labels)
    .filter((g) => g > 0)
    .sort((a, b) => b - a);
  let idcg = 0;
  for (let r = 0; r < Math.min(10, ideal.length); r++)
    idcg += (2 ** ideal[r]! - 1) / Math.log2(r + 2);
  return idcg > 0 ? dcg / idcg : 0;
}

/** Per-feature mean and standard deviation over every candidate; a constant feature gets std 1. */
function standardiser(queries: readonly RankingQuery[], f: number) {
  const sum = new Float64Array(f);
  const sq = new Float64Array(f);
  let n = 0;
  for (const q of queries) {
    const c = q.labels.length;
    for (let i = 0; i < c; i++)
      for (let k = 0; k < f; k++) {
        const v = q.features[i * f + k]!;
        sum[k] = sum[k]! + v;
        sq[k] = sq[k]! + v * v;
      }
    n += c;
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let k = 0; k < f; k++) {
    const m = n > 0 ? sum[k]! / n : 0;
    const variance = n > 0 ? Math.max(0, sq[k]! / n - m * m) : 0;
    const s = Math.sqrt(variance);
    mean.push(m);
    // The registry requires std > 0; a feature that never varies contributes nothing anyway.
    std.push(s > 1e-12 && Number.isFinite(s) ? s : 1);
  }
  return { mean, std };
}

function standardise(x: Float64Array, mean: number[], std: number[], f: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = (x[i]! - mean[i % f]!) / std[i % f]!;
    out[i] = Number.isFinite(v) ? v : 0;
  }
  return out;
}

function hasPair(labels: ArrayLike<number>): boolean {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < labels.length; i++) {
    min = Math.min(min, labels[i]!);
    max = Math.max(max, labels[i]!);
  }
  return max > 0 && max > min;
}

/** Every (more relevant, less relevant) pair of each query, seeded-sampled down to `maxPairs`. */
function collectPairs(
  queries: readonly { q: RankingQuery; x: Float64Array }[],
  maxPairs: number,
  rng: () => number,
) {
  const a: number[] = [];
  const b: number[] = [];
  const x: Float64Array[] = [];
  for (const { q, x: feats } of queries) {
    const qa: number[] = [];
    const qb: number[] = [];
    const n = q.labels.length;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        if (q.labels[i]! > q.labels[j]!) {
          qa.push(i);
          qb.push(j);
        }
    // Reservoir-free sample: a seeded partial Fisher–Yates over the pair indices.
    const take = Math.min(maxPairs, qa.length);
    const idx = Array.from({ length: qa.length }, (_, i) => i);
    for (let i = 0; i < take; i++) {
      const j = i + Math.floor(rng() * (idx.length - i));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
      a.push(qa[idx[i]!]!);
      b.push(qb[idx[i]!]!);
      x.push(feats);
    }
  }
  return { a, b, x, count: a.length };
}

function rankBy(x: Float64Array, w: Float64Array, f: number): number[] {
  const n = x.length / f;
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let k = 0; k < f; k++) v += w[k]! * x[i * f + k]!;
    s[i] = v;
  }
  // Ties keep the given order, so zero weights reproduce the candidates' order.
  return identityOrder(n).sort((p, q) => s[q]! - s[p]! || p - q);
}

function identityOrder(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function shuffleInPlace(a: Uint32Array, rng: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

function mean0(xs: number[]): number {
  return xs.length > 0 ? xs.reduce((s, v) => s + v, 0) / xs.length : 0;
}
