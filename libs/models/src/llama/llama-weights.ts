import { mulberry32 } from "../random.js";
/** Shape and seed of a generated Llama-style decoder. */
export interface TinyLlamaSpec {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  /** Key/value heads; `heads` must be a multiple (grouped-query attention). */
  readonly kvHeads: number;
  readonly intermediate: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly ropeTheta: number;
  readonly seed: number;
  /** RMSNorm epsilon; HF Llama's default when absent. */
  readonly rmsNormEps?: number;
}

/** One decoder block. Projections are row-major [in, out] so `x · W` needs no transpose. */
export interface LlamaLayerWeights {
  readonly inputNorm: Float32Array;
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly o: Float32Array;
  readonly postNorm: Float32Array;
  readonly gate: Float32Array;
  readonly up: Float32Array;
  readonly down: Float32Array;
}

/** All parameters of a generated model; the ONNX graph and the reference share them. */
export interface LlamaWeights {
  readonly spec: TinyLlamaSpec;
  readonly headDim: number;
  readonly rmsNormEps: number;
  /** [vocabSize, hidden]. */
  readonly embed: Float32Array;
  readonly layers: readonly LlamaLayerWeights[];
  readonly finalNorm: Float32Array;
  /** [hidden, vocabSize]. */
  readonly lmHead: Float32Array;
}

const DEFAULT_RMS_NORM_EPS = 1e-6;

/** Throws when the spec cannot describe a Llama block stack. */
export function validateLlamaSpec(spec: TinyLlamaSpec): void {
  const ints: (keyof TinyLlamaSpec)[] = [
    "layers",
    "hidden",
    "heads",
    "kvHeads",
    "intermediate",
    "vocabSize",
    "maxPositions",
  ];
  for (const key of ints) {
    const value = spec[key];
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1)
      throw new Error(`${key} must be a positive integer`);
  }
  if (spec.hidden % spec.heads !== 0) throw new Error("hidden must be a multiple of heads");
  if (spec.heads % spec.kvHeads !== 0) throw new Error("heads must be a multiple of kvHeads");
  if ((spec.hidden / spec.heads) % 2 !== 0) throw new Error("head dim must be even for rotary");
  if (!(spec.ropeTheta > 0)) throw new Error("ropeTheta must be positive");
}

/** Deterministic weights for `spec`: same seed, same bits. */
export function createLlamaWeights(spec: TinyLlamaSpec): LlamaWeights {
  validateLlamaSpec(spec);
  const { hidden, heads, kvHeads, intermediate, vocabSize } = spec;
  const headDim = hidden / heads;
  const rand = gaussian(spec.seed);
  // 1/√fan_in keeps activations O(1) through the stack, so logits stay in a range where greedy and
  // sampled decoding both have something to choose between.
  const matrix = (rows: number, cols: number, scale = 1 / Math.sqrt(rows)) => {
    const m = new Float32Array(rows * cols);
    for (let i = 0; i < m.length; i++) m[i] = rand() * scale;
    return m;
  };
  // Norm gains near 1, not exactly 1, so a graph that forgot to multiply by them would be caught.
  const norm = () => {
    const w = new Float32Array(hidden);
    for (let i = 0; i < hidden; i++) w[i] = 1 + 0.1 * rand();
    return w;
  };
  const embed = matrix(vocabSize, hidden, 1);
  const layers: LlamaLayerWeights[] = [];
  for (let l = 0; l < spec.layers; l++) {
    layers.push({
      inputNorm: norm(),
      q: matrix(hidden, heads * headDim),
      k: matrix(hidden, kvHeads * headDim),
      v: matrix(hidden, kvHeads * headDim),
      o: matrix(heads * headDim, hidden),
      postNorm: norm(),
      gate: matrix(hidden, intermediate),
      up: matrix(hidden, intermediate),
      down: matrix(intermediate, hidden),
    });
  }
  return {
    spec,
    headDim,
    rmsNormEps: spec.rmsNormEps ?? DEFAULT_RMS_NORM_EPS,
    embed,
    layers,
    finalNorm: norm(),
    // Larger than 1/√hidden so the next-token distribution is peaked enough to produce EOS sometimes.
    lmHead: matrix(hidden, vocabSize, 2 / Math.sqrt(hidden)),
  };
}

/** Rotary inverse frequencies θ^(-2i/d), i < d/2, as HF Llama computes them. */
export function ropeInverseFrequencies(headDim: number, theta: number): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = 1 / theta ** ((2 * i) / headDim);
  return out;
}

/** mulberry32 → Box–Muller standard normal draws. */
function gaussian(seed: number): () => number {
  const next = mulberry32(seed);
  // Half a step up keeps log() away from 0; exact in a double, so the weights stay as they were.
  const uniform = () => next() + 2 ** -33;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}
