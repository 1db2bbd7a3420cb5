import type { Mulberry32 } from "@tailor/models/random";

/** One training example: a query-side vector and the vector of the text it should retrieve. */
export interface TrainingPair {
  readonly query: Float32Array;
  readonly positive: Float32Array;
}

/**
 * Opens the pairs from the start, once per pass (every epoch and every held-out evaluation).
 * It must yield the same pairs in the same order each time: the held-out split and a resumed
 * run depend on it. Only one batch (plus the shuffle buffer) is held at a time.
 */
export type PairSource = () => Iterable<TrainingPair> | AsyncIterable<TrainingPair>;

/** A pair is unusable: wrong length or a non-finite value. Names the pair by its stream position. */
export class TrainingDataError extends Error {
  override readonly name = "TrainingDataError";
  readonly code = "training_data_invalid";
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

/** Returns true when `err` is a {@link TrainingDataError}. */
export function isTrainingDataError(err: unknown): err is TrainingDataError {
  return err instanceof TrainingDataError;
}

/** Whether the pair at stream position `index` belongs to the held-out slice (a seeded hash, no state). */
export function isHeldOut(seed: number, index: number, fraction: number): boolean {
  if (fraction <= 0) return false;
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h / 4294967296 < fraction;
}

/** The pairs of one side of the split, checked, in stream order. */
export async function* splitPairs(
  source: PairSource,
  dims: number,
  seed: number,
  fraction: number,
  side: "train" | "held-out",
): AsyncGenerator<TrainingPair> {
  let index = 0;
  for await (const pair of source()) {
    const i = index++;
    if (isHeldOut(seed, i, fraction) !== (side === "held-out")) continue;
    checkPair(pair, dims, i);
    yield pair;
  }
}

/**
 * A bounded shuffle: holds at most `size` pairs and emits a seeded-random one as each new pair
 * arrives, then drains the rest in random order. `size` ≤ 1 keeps the stream order.
 */
export async function* shuffled(
  pairs: AsyncIterable<TrainingPair>,
  size: number,
  rng: Mulberry32,
): AsyncGenerator<TrainingPair> {
  if (size <= 1) {
    yield* pairs;
    return;
  }
  const buffer: TrainingPair[] = [];
  for await (const pair of pairs) {
    if (buffer.length < size) {
      buffer.push(pair);
      continue;
    }
    const j = Math.floor(rng() * size);
    const out = buffer[j]!;
    buffer[j] = pair;
    yield out;
  }
  while (buffer.length > 0) {
    const j = Math.floor(rng() * buffer.length);
    const out = buffer[j]!;
    buffer[j] = buffer[buffer.length - 1]!;
    buffer.pop();
    yield out;
  }
}

/** Groups pairs into batches of `size`; the last batch may be smaller. */
export async function* batches(
  pairs: AsyncIterable<TrainingPair>,
  size: number,
): AsyncGenerator<TrainingPair[]> {
  let batch: TrainingPair[] = [];
  for await (const pair of pairs) {
    batch.push(pair);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function checkPair(pair: TrainingPair, dims: number, index: number): void {
  for (const side of ["query", "positive"] as const) {
    const v = pair?.[side];
    if (!(v instanceof Float32Array))
      throw new TrainingDataError(`pair ${index}: ${side} is not a Float32Array`, index);
    if (v.length !== dims)
      throw new TrainingDataError(
        `pair ${index}: ${side} has ${v.length} values, expected ${dims}`,
        index,
      );
    for (let k = 0; k < dims; k++)
      if (!Number.isFinite(v[k]))
        throw new TrainingDataError(`pair ${index}: ${side}[${k}] is not finite`, index);
  }
}
