import type { Mulberry32 } from "@tailor/models/random";

/** Linear: `z = x·W + b`, W initialised to the identity. */
export interface LinearArchitecture {
  readonly kind: "linear";
}

/** Two-layer residual: `z = x + act(x·W1 + b1)·W2 + b2`, W2 initialised to zero. */
export interface ResidualArchitecture {
  readonly kind: "residual";
  readonly hidden: number;
  /** `gelu` is the tanh approximation (ONNX `Gelu` with `approximate="tanh"`). */
  readonly activation: "relu" | "gelu";
}

/** The shape of an embedding adapter. */
export type AdapterArchitecture = LinearArchitecture | ResidualArchitecture;

/** An adapter over `dims`-d vectors; its output is always L2-normalised, as the model-server does. */
export interface AdapterSpec {
  readonly dims: number;
  readonly architecture: AdapterArchitecture;
}

/** Flat parameter vector; the layout is fixed by {@link parameterLayout}. */
export type Params = Float32Array | Float64Array;

/** Where each tensor sits in the flat parameter vector (row-major, `x·W` convention: W is [in, out]). */
export interface ParameterLayout {
  readonly size: number;
  readonly tensors: readonly { name: string; offset: number; shape: readonly number[] }[];
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;
// Below this norm a vector is left unscaled rather than divided by ~0, as the ONNX graphs do.
const NORM_EPS = 1e-12;

/** The tensors of `spec`, in the order they sit in the flat vector. */
export function parameterLayout(spec: AdapterSpec): ParameterLayout {
  const d = spec.dims;
  const shapes: [string, number[]][] =
    spec.architecture.kind === "linear"
      ? [
          ["weight", [d, d]],
          ["bias", [d]],
        ]
      : [
          ["w1", [d, spec.architecture.hidden]],
          ["b1", [spec.architecture.hidden]],
          ["w2", [spec.architecture.hidden, d]],
          ["b2", [d]],
        ];
  let offset = 0;
  const tensors = shapes.map(([name, shape]) => {
    const t = { name, offset, shape };
    offset += shape.reduce((a, b) => a * b, 1);
    return t;
  });
  return { size: offset, tensors };
}

/** Throws a RangeError naming the first bad field of `spec`. */
export function checkSpec(spec: AdapterSpec): void {
  if (!Number.isInteger(spec.dims) || spec.dims < 1)
    throw new RangeError(`dims must be a positive integer, got ${spec.dims}`);
  const a = spec.architecture;
  if (a.kind === "residual") {
    if (!Number.isInteger(a.hidden) || a.hidden < 1)
      throw new RangeError(`architecture.hidden must be a positive integer, got ${a.hidden}`);
    if (a.activation !== "relu" && a.activation !== "gelu")
      throw new RangeError(`architecture.activation must be relu or gelu`);
  } else if (a.kind !== "linear") {
    throw new RangeError(`architecture.kind must be linear or residual`);
  }
}

/**
 * Initial parameters: the identity map. Linear: W = I, b = 0. Residual: W1 ~ N(0, 1/d) so the
 * hidden units differ, W2 = 0 so the branch starts silent; the RNG is consumed only then.
 */
export function initParameters(spec: AdapterSpec, rng: Mulberry32): Float32Array {
  checkSpec(spec);
  const d = spec.dims;
  const params = new Float32Array(parameterLayout(spec).size);
  if (spec.architecture.kind === "linear") {
    for (let i = 0; i < d; i++) params[i * d + i] = 1;
    return params;
  }
  const h = spec.architecture.hidden;
  const std = 1 / Math.sqrt(d);
  for (let i = 0; i < d * h; i++) params[i] = std * gaussian(rng);
  return params;
}

/**
 * The point weight decay pulls towards: the identity for a linear adapter (decaying towards a
 * zero matrix would destroy the base space), zero for the residual branch.
 */
export function decayAnchor(spec: AdapterSpec): Float32Array {
  const anchor = new Float32Array(parameterLayout(spec).size);
  if (spec.architecture.kind === "linear")
    for (let i = 0; i < spec.dims; i++) anchor[i * spec.dims + i] = 1;
  return anchor;
}

/** Scratch buffers for up to `rows` vectors, reused across batches. */
export class AdapterWorkspace {
  /** Pre-normalisation outputs z, [rows, d]. */
  readonly z: Float64Array;
  /** Normalised outputs y, [rows, d]. */
  readonly y: Float64Array;
  readonly norm: Float64Array;
  /** Residual only: hidden pre-activations and activations, [rows, hidden]. */
  readonly pre: Float64Array;
  readonly act: Float64Array;
  private readonly dz: Float64Array;
  private readonly dh: Float64Array;

  constructor(
    readonly spec: AdapterSpec,
    readonly rows: number,
  ) {
    const d = spec.dims;
    const h = spec.architecture.kind === "residual" ? spec.architecture.hidden : 0;
    this.z = new Float64Array(rows * d);
    this.y = new Float64Array(rows * d);
    this.norm = new Float64Array(rows);
    this.pre = new Float64Array(rows * h);
    this.act = new Float64Array(rows * h);
    this.dz = new Float64Array(d);
    this.dh = new Float64Array(h);
  }

  /** Runs the adapter on `n` rows of `x` ([n, d]) and normalises: fills z, y, norm (and pre, act). */
  forward(params: Params, x: ArrayLike<number>, n: number): void {
    if (n > this.rows) throw new RangeError(`${n} rows exceed the workspace's ${this.rows}`);
    const d = this.spec.dims;
    const a = this.spec.architecture;
    const { z, y, norm, pre, act } = this;
    for (let r = 0; r < n; r++) {
      const xo = r * d;
      const zo = r * d;
      if (a.kind === "linear") {
        const bo = d * d;
        for (let j = 0; j < d; j++) z[zo + j] = params[bo + j]!;
        for (let i = 0; i < d; i++) {
          const xi = x[xo + i]!;
          if (xi === 0) continue;
          const wo = i * d;
          for (let j = 0; j < d; j++) z[zo + j] = z[zo + j]! + xi * params[wo + j]!;
        }
      } else {
        const h = a.hidden;
        const b1 = d * h;
        const w2 = b1 + h;
        const b2 = w2 + h * d;
        const ho = r * h;
        for (let k = 0; k < h; k++) pre[ho + k] = params[b1 + k]!;
        for (let i = 0; i < d; i++) {
          const xi = x[xo + i]!;
          if (xi === 0) continue;
          const wo = i * h;
          for (let k = 0; k < h; k++) pre[ho + k] = pre[ho + k]! + xi * params[wo + k]!;
        }
        for (let k = 0; k < h; k++) act[ho + k] = activate(a.activation, pre[ho + k]!);
        for (let j = 0; j < d; j++) z[zo + j] = x[xo + j]! + params[b2 + j]!;
        for (let k = 0; k < h; k++) {
          const ak = act[ho + k]!;
          if (ak === 0) continue;
          const wo = w2 + k * d;
          for (let j = 0; j < d; j++) z[zo + j] = z[zo + j]! + ak * params[wo + j]!;
        }
      }
      let sq = 0;
      for (let j = 0; j < d; j++) sq += z[zo + j]! * z[zo + j]!;
      const nrm = Math.max(Math.sqrt(sq), NORM_EPS);
      norm[r] = nrm;
      for (let j = 0; j < d; j++) y[zo + j] = z[zo + j]! / nrm;
    }
  }

  /**
   * Adds to `grad` the gradient of the loss for row `r` of the last {@link forward}, given
   * `dy` = ∂loss/∂y for that row (read at `dy[dyOffset..]`) and the row's input `x` at `xOffset`.
   */
  backwardRow(
    params: Params,
    x: ArrayLike<number>,
    xOffset: number,
    r: number,
    dy: ArrayLike<number>,
    dyOffset: number,
    grad: Float64Array,
  ): void {
    const d = this.spec.dims;
    const a = this.spec.architecture;
    const { y, dz, dh, pre, act } = this;
    const yo = r * d;
    // y = z/‖z‖ ⇒ ∂L/∂z = (dy − y (y·dy)) / ‖z‖.
    let dot = 0;
    for (let j = 0; j < d; j++) dot += y[yo + j]! * dy[dyOffset + j]!;
    const inv = 1 / this.norm[r]!;
    for (let j = 0; j < d; j++) dz[j] = (dy[dyOffset + j]! - y[yo + j]! * dot) * inv;
    if (a.kind === "linear") {
      for (let i = 0; i < d; i++) {
        const xi = x[xOffset + i]!;
        if (xi === 0) continue;
        const wo = i * d;
        for (let j = 0; j < d; j++) grad[wo + j] = grad[wo + j]! + xi * dz[j]!;
      }
      const bo = d * d;
      for (let j = 0; j < d; j++) grad[bo + j] = grad[bo + j]! + dz[j]!;
      return;
    }
    const h = a.hidden;
    const b1 = d * h;
    const w2 = b1 + h;
    const b2 = w2 + h * d;
    const ho = r * h;
    for (let k = 0; k < h; k++) {
      const ak = act[ho + k]!;
      const wo = w2 + k * d;
      let back = 0;
      for (let j = 0; j < d; j++) {
        grad[wo + j] = grad[wo + j]! + ak * dz[j]!;
        back += params[wo + j]! * dz[j]!;
      }
      dh[k] = back * activationSlope(a.activation, pre[ho + k]!);
    }
    for (let j = 0; j < d; j++) grad[b2 + j] = grad[b2 + j]! + dz[j]!;
    for (let i = 0; i < d; i++) {
      const xi = x[xOffset + i]!;
      if (xi === 0) continue;
      const wo = i * h;
      for (let k = 0; k < h; k++) grad[wo + k] = grad[wo + k]! + xi * dh[k]!;
    }
    for (let k = 0; k < h; k++) grad[b1 + k] = grad[b1 + k]! + dh[k]!;
  }
}

/** Adapts `n` row-major vectors and L2-normalises each, as the exported ONNX adapter plus the model-server do. */
export function applyAdapter(
  spec: AdapterSpec,
  params: Params,
  input: Float32Array,
  n = input.length / spec.dims,
): Float32Array {
  if (!Number.isInteger(n) || n * spec.dims > input.length)
    throw new RangeError(`input holds ${input.length} values, not ${n} × ${spec.dims}`);
  const out = new Float32Array(n * spec.dims);
  const chunk = 256;
  const ws = new AdapterWorkspace(spec, Math.min(chunk, Math.max(1, n)));
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    ws.forward(params, input.subarray(start * spec.dims, (start + rows) * spec.dims), rows);
    out.set(ws.y.subarray(0, rows * spec.dims), start * spec.dims);
  }
  return out;
}

function activate(kind: "relu" | "gelu", v: number): number {
  if (kind === "relu") return Math.max(v, 0);
  return 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v)));
}

function activationSlope(kind: "relu" | "gelu", v: number): number {
  if (kind === "relu") return v > 0 ? 1 : 0;
  const t = Math.tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v));
  const du = SQRT_2_OVER_PI * (1 + 3 * GELU_C * v * v);
  return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du;
}

// Box–Muller from the seeded stream, so initial weights repeat with the seed.
function gaussian(rng: Mulberry32): number {
  const u = Math.max(rng(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}
