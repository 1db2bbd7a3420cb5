import { mulberry32 } from "@tailor/models/random";
import type { TargetModule } from "./spec.js";

/** The weights of a Llama-shaped decoder; projections are row-major [in, out] (`x · W`). */
export interface DecoderWeights {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly intermediate: number;
  readonly vocabSize: number;
  readonly ropeTheta: number;
  readonly rmsNormEps: number;
  /** [vocabSize, hidden]. */
  readonly embed: Float32Array;
  readonly blocks: readonly DecoderBlock[];
  readonly finalNorm: Float32Array;
  /** [hidden, vocabSize]. */
  readonly lmHead: Float32Array;
}

/** One decoder block's parameters. */
export interface DecoderBlock {
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

type ProjectionKey = "q" | "k" | "v" | "o" | "gate" | "up" | "down";

/** Which block projection a PEFT module name adapts. */
const MODULE_PROJECTION: Readonly<Record<TargetModule, ProjectionKey>> = {
  q_proj: "q",
  k_proj: "k",
  v_proj: "v",
  o_proj: "o",
  gate_proj: "gate",
  up_proj: "up",
  down_proj: "down",
};

/** [in, out] of a projection in `w`. */
function projectionShape(w: DecoderWeights, m: TargetModule): [number, number] {
  const { hidden, heads, kvHeads, headDim, intermediate } = w;
  switch (m) {
    case "q_proj":
      return [hidden, heads * headDim];
    case "k_proj":
    case "v_proj":
      return [hidden, kvHeads * headDim];
    case "o_proj":
      return [heads * headDim, hidden];
    case "gate_proj":
    case "up_proj":
      return [hidden, intermediate];
    case "down_proj":
      return [intermediate, hidden];
    default: {
      const never: never = m;
      throw new Error(`unknown module ${String(never)}`);
    }
  }
}

/** One adapted projection: A [rank, in] at `aOff`, B [out, rank] at `bOff` of the flat vector. */
export interface LoraSlot {
  readonly layer: number;
  readonly module: TargetModule;
  readonly inDim: number;
  readonly outDim: number;
  readonly aOff: number;
  readonly bOff: number;
}

/**
 * LoRA matrices for every (layer, target module), in one flat vector so one optimiser step
 * updates them all. The adapted projection computes `x·W + scale·(x·Aᵀ)·Bᵀ`.
 */
export class LoraParams {
  readonly scale: number;
  readonly slots: readonly LoraSlot[];
  readonly values: Float32Array;
  private readonly bySlot = new Map<string, LoraSlot>();

  constructor(
    w: DecoderWeights,
    readonly modules: readonly TargetModule[],
    readonly rank: number,
    readonly alpha: number,
  ) {
    this.scale = alpha / rank;
    const slots: LoraSlot[] = [];
    let off = 0;
    for (let layer = 0; layer < w.layers; layer++) {
      for (const module of modules) {
        const [inDim, outDim] = projectionShape(w, module);
        const slot = { layer, module, inDim, outDim, aOff: off, bOff: off + rank * inDim };
        off += rank * (inDim + outDim);
        slots.push(slot);
        this.bySlot.set(`${layer}/${module}`, slot);
      }
    }
    this.slots = slots;
    this.values = new Float32Array(off);
  }

  /** PEFT's initialisation: A uniform in ±1/√in (kaiming-uniform, a=√5), B zero, so ΔW starts at 0. */
  initialise(seed: bigint): void {
    // mulberry32 takes 32 bits; fold the high half in so seeds differing only there still differ.
    const rand = mulberry32(Number((seed ^ (seed >> 32n)) & 0xffffffffn));
    this.values.fill(0);
    for (const s of this.slots) {
      const bound = 1 / Math.sqrt(s.inDim);
      for (let i = 0; i < this.rank * s.inDim; i++)
        this.values[s.aOff + i] = (rand() * 2 - 1) * bound;
    }
  }

  slot(layer: number, module: TargetModule): LoraSlot | undefined {
    return this.bySlot.get(`${layer}/${module}`);
  }

  /** A of `slot` as a view: [rank, in]. */
  a(s: LoraSlot): Float32Array {
    return this.values.subarray(s.aOff, s.aOff + this.rank * s.inDim);
  }

  /** B of `slot` as a view: [out, rank]. */
  b(s: LoraSlot): Float32Array {
    return this.values.subarray(s.bOff, s.bOff + s.outDim * this.rank);
  }

  /**
   * The merged projection W' = W + scale·(B·A)ᵀ for `s`. HF writes ΔW = scale·B·A in its
   * [out, in] layout; the decoder's initializers are [in, out], hence the transpose.
   */
  merged(w: DecoderWeights, s: LoraSlot): Float32Array {
    const base = w.blocks[s.layer]![MODULE_PROJECTION[s.module]];
    const out = Float32Array.from(base);
    const a = this.a(s);
    const b = this.b(s);
    const r = this.rank;
    for (let c = 0; c < s.inDim; c++) {
      for (let o = 0; o < s.outDim; o++) {
        let acc = 0;
        for (let k = 0; k < r; k++) acc += b[o * r + k]! * a[k * s.inDim + c]!;
        out[c * s.outDim + o] = out[c * s.outDim + o]! + this.scale * acc;
      }
    }
    return out;
  }
}
