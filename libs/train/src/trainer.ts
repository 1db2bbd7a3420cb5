import { mulberry32 } from "@tailor/models/random";
import { type AdamMoments, adamMoments, adamStep } from "./adam.js";
import {
  type AdapterArchitecture,
  type AdapterSpec,
  checkSpec,
  decayAnchor,
  initParameters,
} from "./adapter.js";
import { InfoNceBatch } from "./info-nce.js";
import {
  batches,
  type PairSource,
  shuffled,
  splitPairs,
  TrainingDataError,
  type TrainingPair,
} from "./pair-stream.js";

/** Everything that decides a run; with the same pairs, the same config gives the same bits. */
export interface AdapterTrainingConfig {
  readonly dims: number;
  readonly architecture: AdapterArchitecture;
  readonly seed: number;
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly temperature: number;
  /** See {@link InfoNceOptions.symmetric}; default true. */
  readonly symmetric: boolean;
  readonly batchSize: number;
  readonly maxEpochs: number;
  /** Stop after this many epochs in a row without a held-out improvement above `minDelta`. */
  readonly patience: number;
  readonly minDelta: number;
  /** Share of the pairs (by a seeded hash of their position) kept out of training for early stopping. */
  readonly heldOutFraction: number;
  /** Pairs held by the bounded shuffle; ≤ 1 trains in stream order. */
  readonly shuffleBuffer: number;
}

/** Options of {@link AdapterTrainer}: `dims` and `seed` are required, the rest have defaults. */
export type AdapterTrainingOptions = Partial<AdapterTrainingConfig> &
  Pick<AdapterTrainingConfig, "dims" | "seed">;

/** One finished epoch of the loss curve. */
export interface EpochRecord {
  readonly epoch: number;
  /** Mean training loss of the epoch's steps. */
  readonly trainLoss: number;
  readonly heldOutLoss: number;
  readonly steps: number;
}

/** A JSON-serialisable snapshot from which {@link AdapterTrainer.resume} continues bit-identically. */
export interface AdapterTrainerState {
  readonly format: 1;
  readonly config: AdapterTrainingConfig;
  readonly params: number[];
  readonly adamM: number[];
  readonly adamV: number[];
  readonly step: number;
  /** Epochs finished (evaluated). */
  readonly epoch: number;
  /** Training batches already done in the current epoch; a resume replays the stream past them. */
  readonly batchInEpoch: number;
  /** RNG state at the start of the current epoch (the shuffle is replayed from it on resume). */
  readonly epochRngState: number;
  readonly epochLossSum: number;
  readonly initialHeldOutLoss: number | null;
  readonly best: {
    readonly loss: number;
    readonly epoch: number;
    readonly params: number[];
  } | null;
  /** Epochs in a row without improvement (the patience counter). */
  readonly badEpochs: number;
  readonly history: EpochRecord[];
  readonly stopReason: StopReason | null;
}

/** Why training ended. */
export type StopReason = "early-stopped" | "max-epochs";

/** What {@link AdapterTrainer.train} returns. */
export interface AdapterTrainingResult {
  /** `interrupted`: the signal fired; `state()` resumes from here. */
  readonly status: "completed" | "interrupted";
  readonly stopReason: StopReason | null;
  readonly spec: AdapterSpec;
  /** The best parameters seen on the held-out slice (the identity if nothing beat it). */
  readonly params: Float32Array;
  readonly bestEpoch: number;
  readonly bestHeldOutLoss: number;
  readonly initialHeldOutLoss: number;
  readonly history: readonly EpochRecord[];
  readonly steps: number;
}

/** Reported after every optimiser step. */
export interface StepProgress {
  readonly step: number;
  readonly epoch: number;
  readonly loss: number;
}

const DEFAULTS = {
  architecture: { kind: "linear" },
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  temperature: 0.05,
  symmetric: true,
  batchSize: 64,
  maxEpochs: 20,
  patience: 3,
  minDelta: 0,
  heldOutFraction: 0.1,
} as const;

/**
 * Trains an embedding adapter with InfoNCE over in-batch negatives, Adam and early stopping on a
 * held-out slice of the pairs. Memory is the parameters, Adam's moments, the best parameters, the
 * shuffle buffer and one batch, whatever the number of pairs.
 */
export class AdapterTrainer {
  private readonly spec: AdapterSpec;
  private readonly params: Float32Array;
  private readonly adam: AdamMoments;
  private readonly anchor: Float32Array;
  private readonly loss: InfoNceBatch;
  private readonly grad: Float64Array;
  private readonly qBuf: Float32Array;
  private readonly pBuf: Float32Array;
  private epoch = 0;
  private batchInEpoch = 0;
  private epochRngState: number;
  private epochLossSum = 0;
  private initialHeldOutLoss: number | null = null;
  private best: { loss: number; epoch: number; params: Float32Array } | null = null;
  private badEpochs = 0;
  private history: EpochRecord[] = [];
  private stopReason: StopReason | null = null;

  readonly config: AdapterTrainingConfig;

  constructor(
    options: AdapterTrainingOptions,
    private readonly onStep?: (p: StepProgress) => void,
  ) {
    const c = resolveConfig(options);
    this.config = c;
    this.spec = { dims: c.dims, architecture: c.architecture };
    const rng = mulberry32(c.seed);
    this.params = initParameters(this.spec, rng);
    this.epochRngState = rng.state();
    const size = this.params.length;
    this.adam = adamMoments(size);
    this.anchor = decayAnchor(this.spec);
    this.loss = new InfoNceBatch(this.spec, c.batchSize, c);
    this.grad = new Float64Array(size);
    this.qBuf = new Float32Array(c.batchSize * c.dims);
    this.pBuf = new Float32Array(c.batchSize * c.dims);
  }

  /** Continues from a {@link state} snapshot (e.g. read back from JSON after a crash). */
  static resume(state: AdapterTrainerState, onStep?: (p: StepProgress) => void): AdapterTrainer {
    if (state.format !== 1) throw new RangeError(`unknown trainer state format ${state.format}`);
    const t = new AdapterTrainer(state.config, onStep);
    const size = t.params.length;
    for (const [name, arr] of [
      ["params", state.params],
      ["adamM", state.adamM],
      ["adamV", state.adamV],
    ] as const)
      if (arr.length !== size)
        throw new RangeError(`state.${name} has ${arr.length} values, expected ${size}`);
    t.params.set(state.params);
    t.adam.m.set(state.adamM);
    t.adam.v.set(state.adamV);
    t.adam.step = state.step;
    t.epoch = state.epoch;
    t.batchInEpoch = state.batchInEpoch;
    t.epochRngState = state.epochRngState;
    t.epochLossSum = state.epochLossSum;
    t.initialHeldOutLoss = state.initialHeldOutLoss;
    t.best = state.best && { ...state.best, params: Float32Array.from(state.best.params) };
    t.badEpochs = state.badEpochs;
    t.history = [...state.history];
    t.stopReason = state.stopReason;
    return t;
  }

  /** A serialisable snapshot; valid between steps (any time `train` is not running, or from `onStep`). */
  state(): AdapterTrainerState {
    return {
      format: 1,
      config: this.config,
      params: Array.from(this.params),
      adamM: Array.from(this.adam.m),
      adamV: Array.from(this.adam.v),
      step: this.adam.step,
      epoch: this.epoch,
      batchInEpoch: this.batchInEpoch,
      epochRngState: this.epochRngState,
      epochLossSum: this.epochLossSum,
      initialHeldOutLoss: this.initialHeldOutLoss,
      best: this.best && { ...this.best, params: Array.from(this.best.params) },
      badEpochs: this.badEpochs,
      history: [...this.history],
      stopReason: this.stopReason,
    };
  }

  /** Trains until early stopping, `maxEpochs`, or `signal` (checked after every step). */
  async train(source: PairSource, signal?: AbortSignal): Promise<AdapterTrainingResult> {
    const c = this.config;
    if (this.initialHeldOutLoss === null) {
      const loss = await this.heldOutLoss(source);
      this.initialHeldOutLoss = loss;
      this.best = { loss, epoch: 0, params: this.params.slice() };
    }
    while (this.stopReason === null) {
      if (this.epoch >= c.maxEpochs) {
        this.stopReason = "max-epochs";
        break;
      }
      const rng = mulberry32(this.epochRngState);
      const train = splitPairs(source, c.dims, c.seed, c.heldOutFraction, "train");
      let index = 0;
      for await (const batch of batches(shuffled(train, c.shuffleBuffer, rng), c.batchSize)) {
        // A lone pair has no negatives: its loss and gradient are zero.
        if (batch.length < 2) continue;
        if (index++ < this.batchInEpoch) continue; // replaying up to a resumed position
        const loss = this.step(batch);
        this.batchInEpoch++;
        this.epochLossSum += loss;
        this.onStep?.({ step: this.adam.step, epoch: this.epoch, loss });
        if (signal?.aborted) return this.result("interrupted");
      }
      const heldOut = await this.heldOutLoss(source);
      this.history.push({
        epoch: this.epoch + 1,
        trainLoss: this.batchInEpoch > 0 ? this.epochLossSum / this.batchInEpoch : Number.NaN,
        heldOutLoss: heldOut,
        steps: this.batchInEpoch,
      });
      this.epoch++;
      this.batchInEpoch = 0;
      this.epochLossSum = 0;
      this.epochRngState = rng.state();
      const best = this.best!;
      if (heldOut < best.loss - c.minDelta) {
        this.best = { loss: heldOut, epoch: this.epoch, params: this.params.slice() };
        this.badEpochs = 0;
      } else if (++this.badEpochs >= c.patience) {
        this.stopReason = "early-stopped";
      }
      if (signal?.aborted && this.stopReason === null) return this.result("interrupted");
    }
    return this.result("completed");
  }

  private step(batch: readonly TrainingPair[]): number {
    const d = this.config.dims;
    for (let i = 0; i < batch.length; i++) {
      this.qBuf.set(batch[i]!.query, i * d);
      this.pBuf.set(batch[i]!.positive, i * d);
    }
    this.grad.fill(0);
    const loss = this.loss.run(this.params, this.qBuf, this.pBuf, batch.length, this.grad);
    adamStep(this.params, this.grad, this.adam, this.config, this.anchor);
    return loss;
  }

  /** Pair-weighted mean loss over the held-out slice, in batches of `batchSize`. */
  private async heldOutLoss(source: PairSource): Promise<number> {
    const c = this.config;
    const held = splitPairs(source, c.dims, c.seed, c.heldOutFraction, "held-out");
    let sum = 0;
    let pairs = 0;
    for await (const batch of batches(held, c.batchSize)) {
      if (batch.length < 2) continue;
      for (let i = 0; i < batch.length; i++) {
        this.qBuf.set(batch[i]!.query, i * c.dims);
        this.pBuf.set(batch[i]!.positive, i * c.dims);
      }
      sum += this.loss.run(this.params, this.qBuf, this.pBuf, batch.length) * batch.length;
      pairs += batch.length;
    }
    if (pairs === 0)
      throw new TrainingDataError(
        `no held-out pairs: ${c.heldOutFraction} of the stream gave fewer than 2`,
        -1,
      );
    return sum / pairs;
  }

  private result(status: "completed" | "interrupted"): AdapterTrainingResult {
    const best = this.best!;
    return {
      status,
      stopReason: this.stopReason,
      spec: this.spec,
      params: best.params.slice(),
      bestEpoch: best.epoch,
      bestHeldOutLoss: best.loss,
      initialHeldOutLoss: this.initialHeldOutLoss!,
      history: [...this.history],
      steps: this.adam.step,
    };
  }
}

function resolveConfig(o: AdapterTrainingOptions): AdapterTrainingConfig {
  const batchSize = o.batchSize ?? DEFAULTS.batchSize;
  const c: AdapterTrainingConfig = {
    ...DEFAULTS,
    shuffleBuffer: 8 * batchSize,
    ...stripUndefined(o),
  };
  checkSpec({ dims: c.dims, architecture: c.architecture });
  const positive = ["lr", "temperature", "eps"] as const;
  for (const k of positive) if (!(c[k] > 0)) throw new RangeError(`${k} must be positive`);
  for (const k of ["beta1", "beta2"] as const)
    if (!(c[k] >= 0 && c[k] < 1)) throw new RangeError(`${k} must be in [0, 1)`);
  if (!(c.weightDecay >= 0) || !(c.minDelta >= 0))
    throw new RangeError("weightDecay and minDelta must be ≥ 0");
  if (!(c.heldOutFraction > 0 && c.heldOutFraction < 1))
    throw new RangeError("heldOutFraction must be in (0, 1)");
  for (const k of ["batchSize", "maxEpochs", "patience"] as const)
    if (!Number.isInteger(c[k]) || c[k] < 1)
      throw new RangeError(`${k} must be a positive integer`);
  if (c.batchSize < 2) throw new RangeError("batchSize must be at least 2 (in-batch negatives)");
  if (!Number.isInteger(c.shuffleBuffer) || c.shuffleBuffer < 0)
    throw new RangeError("shuffleBuffer must be a non-negative integer");
  if (!Number.isInteger(c.seed)) throw new RangeError("seed must be an integer");
  return c;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
