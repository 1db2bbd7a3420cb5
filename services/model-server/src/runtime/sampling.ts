import { mulberry32 } from "@tailor/models";
/** Decoding parameters of one generation request. */
export interface GenerationParams {
  /** New tokens at most, EOS included. */
  readonly maxTokens: number;
  /** 0 means greedy (argmax); otherwise logits are divided by it before sampling. */
  readonly temperature: number;
  /** Keep only the k most likely tokens; 0 disables. */
  readonly topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 disables. */
  readonly topP: number;
  /** CTRL-style penalty on tokens already in the prompt or output; 1 disables. */
  readonly repetitionPenalty: number;
  /** Text that ends generation; it is cut and never returned. */
  readonly stop: readonly string[];
  /** Same seed, same prompt, same parameters → same output. Random when absent. */
  readonly seed?: number;
}

/** Parameters that cannot be honoured; the RPC layer maps it to InvalidArgument. */
export class GenerationParamsError extends Error {
  override readonly name = "GenerationParamsError";
  readonly code = "invalid_argument";
}

/** Fills in defaults and rejects out-of-range values. */
export function normalizeGenerationParams(
  params: Partial<GenerationParams>,
  defaults: { readonly maxTokens: number },
): GenerationParams {
  const p: GenerationParams = {
    maxTokens: params.maxTokens ?? defaults.maxTokens,
    temperature: params.temperature ?? 0,
    topK: params.topK ?? 0,
    topP: params.topP ?? 1,
    repetitionPenalty: params.repetitionPenalty ?? 1,
    stop: (params.stop ?? []).filter((s) => s.length > 0),
    ...(params.seed !== undefined && { seed: params.seed }),
  };
  const fail = (msg: string) => {
    throw new GenerationParamsError(msg);
  };
  if (!Number.isInteger(p.maxTokens) || p.maxTokens < 1) fail("maxTokens must be an integer ≥ 1");
  if (!(p.temperature >= 0) || !Number.isFinite(p.temperature)) fail("temperature must be ≥ 0");
  if (!Number.isInteger(p.topK) || p.topK < 0) fail("topK must be an integer ≥ 0");
  if (!(p.topP > 0 && p.topP <= 1)) fail("topP must be in (0, 1]");
  if (!(p.repetitionPenalty > 0) || !Number.isFinite(p.repetitionPenalty))
    fail("repetitionPenalty must be > 0");
  if (p.seed !== undefined && !Number.isSafeInteger(p.seed)) fail("seed must be an integer");
  return p;
}

/** Per-stream sampler: remembers which tokens count for the repetition penalty. */
export class TokenSampler {
  private readonly seen: Uint8Array;
  private readonly seenList: number[] = [];
  private readonly random: () => number;
  private order: Int32Array;

  constructor(
    private readonly params: GenerationParams,
    vocabSize: number,
    seed: number,
  ) {
    this.seen = new Uint8Array(vocabSize);
    this.random = mulberry32(seed);
    this.order = new Int32Array(0);
  }

  /** Marks tokens (prompt, then each output) as seen for the repetition penalty. */
  observe(ids: Iterable<number>): void {
    for (const id of ids) {
      if (id >= 0 && id < this.seen.length && this.seen[id] === 0) {
        this.seen[id] = 1;
        this.seenList.push(id);
      }
    }
  }

  /** Picks the next token from one row of logits; the row is modified in place. */
  sample(logits: Float32Array): number {
    const { repetitionPenalty, temperature, topK, topP } = this.params;
    if (repetitionPenalty !== 1) {
      for (const id of this.seenList) {
        const v = logits[id]!;
        // CTRL: shrink positive logits and push negative ones further down, both towards less likely.
        logits[id] = v > 0 ? v / repetitionPenalty : v * repetitionPenalty;
      }
    }
    if (temperature === 0) return argmax(logits);
    const n = logits.length;
    if (this.order.length !== n) this.order = new Int32Array(n);
    const order = this.order;
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => logits[b]! - logits[a]! || a - b);
    const keep = topK > 0 ? Math.min(topK, n) : n;
    const max = logits[order[0]!]! / temperature;
    const probs = new Float64Array(keep);
    let sum = 0;
    for (let i = 0; i < keep; i++) {
      const p = Math.exp(logits[order[i]!]! / temperature - max);
      probs[i] = p;
      sum += p;
    }
    let cut = keep;
    if (topP < 1) {
      let acc = 0;
      for (let i = 0; i < keep; i++) {
        acc += probs[i]! / sum;
        if (acc >= topP) {
          cut = i + 1;
          break;
        }
      }
    }
    let mass = 0;
    for (let i = 0; i < cut; i++) mass += probs[i]!;
    let u = this.random() * mass;
    for (let i = 0; i < cut; i++) {
      u -= probs[i]!;
      if (u < 0) return order[i]!;
    }
    // Rounding can leave u a hair above zero after the last candidate.
    return order[cut - 1]!;
  }
}

/** Index of the largest value; the first on ties. */
export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}
