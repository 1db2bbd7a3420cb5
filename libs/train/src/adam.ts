/** Adam hyper-parameters. */
export interface AdamOptions {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Decoupled (AdamW) decay towards `anchor`, per step, scaled by lr; 0 turns it off. */
  readonly weightDecay: number;
}

/** Adam's moments for a flat parameter vector; `step` counts updates done. */
export interface AdamMoments {
  readonly m: Float32Array;
  readonly v: Float32Array;
  step: number;
}

/** Fresh (zero) moments for `size` parameters. */
export function adamMoments(size: number): AdamMoments {
  return { m: new Float32Array(size), v: new Float32Array(size), step: 0 };
}

/**
 * One Adam step with bias correction (Kingma & Ba), plus decoupled weight decay pulling
 * `params` towards `anchor` (Loshchilov & Hutter), in place.
 */
export function adamStep(
  params: Float32Array,
  grad: Float64Array,
  state: AdamMoments,
  o: AdamOptions,
  anchor: Float32Array,
): void {
  state.step += 1;
  const c1 = 1 - o.beta1 ** state.step;
  const c2 = 1 - o.beta2 ** state.step;
  const { m, v } = state;
  for (let i = 0; i < params.length; i++) {
    const g = grad[i]!;
    const mi = o.beta1 * m[i]! + (1 - o.beta1) * g;
    const vi = o.beta2 * v[i]! + (1 - o.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    let p = params[i]!;
    if (o.weightDecay > 0) p -= o.lr * o.weightDecay * (p - anchor[i]!);
    params[i] = p - (o.lr * (mi / c1)) / (Math.sqrt(vi / c2) + o.eps);
  }
}
