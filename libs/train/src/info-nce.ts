import { type AdapterSpec, AdapterWorkspace, type Params } from "./adapter.js";

/** How the in-batch contrastive loss is formed. */
export interface InfoNceOptions {
  /** Cosines are divided by this before the softmax. */
  readonly temperature: number;
  /**
   * True: the mean of query→positives and positive→queries cross-entropies (CLIP-style);
   * false: query→positives only.
   */
  readonly symmetric: boolean;
}

/**
 * InfoNCE with in-batch negatives: the same adapter maps both queries and positives (the lesson
 * that it must act on both sides), `S = ŷq·ŷpᵀ / τ`, and each query's positive competes with every
 * other pair's positive. Gradients are derived by hand; `info-nce.test.ts` checks them.
 */
export class InfoNceBatch {
  private readonly ws: AdapterWorkspace;
  private readonly x: Float64Array;
  private readonly scores: Float64Array;
  private readonly g: Float64Array;
  private readonly dy: Float64Array;

  constructor(
    readonly spec: AdapterSpec,
    readonly maxPairs: number,
    readonly options: InfoNceOptions,
  ) {
    if (!(options.temperature > 0)) throw new RangeError("temperature must be positive");
    const d = spec.dims;
    this.ws = new AdapterWorkspace(spec, 2 * maxPairs);
    this.x = new Float64Array(2 * maxPairs * d);
    this.scores = new Float64Array(maxPairs * maxPairs);
    this.g = new Float64Array(maxPairs * maxPairs);
    this.dy = new Float64Array(2 * maxPairs * d);
  }

  /**
   * Mean loss over `n` pairs whose vectors are rows of `queries` and `positives` ([n, d]); when
   * `grad` is given (length = parameter count), adds ∂loss/∂params to it.
   */
  run(
    params: Params,
    queries: ArrayLike<number>,
    positives: ArrayLike<number>,
    n: number,
    grad?: Float64Array,
  ): number {
    if (n < 1 || n > this.maxPairs)
      throw new RangeError(`batch of ${n} pairs, expected 1..${this.maxPairs}`);
    const d = this.spec.dims;
    const { x, scores: s, g, dy, ws } = this;
    for (let i = 0; i < n * d; i++) {
      x[i] = queries[i]!;
      x[n * d + i] = positives[i]!;
    }
    ws.forward(params, x, 2 * n);
    const y = ws.y;
    const tau = this.options.temperature;
    const pOff = n * d;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += y[i * d + k]! * y[pOff + j * d + k]!;
        s[i * n + j] = dot / tau;
      }

    // g = ∂loss/∂S: for each softmax, (softmax − onehot) / (n · number of directions).
    const dirs = this.options.symmetric ? 2 : 1;
    const scale = 1 / (n * dirs);
    g.fill(0, 0, n * n);
    let loss = 0;
    for (let i = 0; i < n; i++) loss += softmaxInto(s, g, i * n, 1, n, i, scale);
    if (dirs === 2) for (let j = 0; j < n; j++) loss += softmaxInto(s, g, j, n, n, j, scale);
    loss *= scale;
    if (!grad) return loss;

    // ∂loss/∂ŷq_i = Σ_j g_ij ŷp_j / τ;  ∂loss/∂ŷp_j = Σ_i g_ij ŷq_i / τ.
    dy.fill(0, 0, 2 * n * d);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const gij = g[i * n + j]! / tau;
        if (gij === 0) continue;
        const qo = i * d;
        const po = pOff + j * d;
        for (let k = 0; k < d; k++) {
          dy[qo + k] = dy[qo + k]! + gij * y[po + k]!;
          dy[po + k] = dy[po + k]! + gij * y[qo + k]!;
        }
      }
    for (let r = 0; r < 2 * n; r++) ws.backwardRow(params, x, r * d, r, dy, r * d, grad);
    return loss;
  }
}

/**
 * Cross-entropy of the softmax over `count` scores at `s[start + t·stride]` with target `target`;
 * adds `scale · (softmax − onehot)` into `g` at the same places. Returns the unscaled loss.
 */
function softmaxInto(
  s: Float64Array,
  g: Float64Array,
  start: number,
  stride: number,
  count: number,
  target: number,
  scale: number,
): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let t = 0; t < count; t++) max = Math.max(max, s[start + t * stride]!);
  let sum = 0;
  for (let t = 0; t < count; t++) sum += Math.exp(s[start + t * stride]! - max);
  const logSum = Math.log(sum) + max;
  for (let t = 0; t < count; t++) {
    const at = start + t * stride;
    g[at] = g[at]! + scale * (Math.exp(s[at]! - logSum) - (t === target ? 1 : 0));
  }
  return logSum - s[start + target * stride]!;
}
