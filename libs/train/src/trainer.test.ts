import { mulberry32 } from "@tailor/models/random";
import { describe, expect, it } from "vitest";
import { isTrainingDataError, type PairSource, type TrainingPair } from "./pair-stream.js";
import {
  AdapterTrainer,
  type AdapterTrainerState,
  type AdapterTrainingOptions,
} from "./trainer.js";

const D = 8;

/**
 * A generator, never an array: each pass re-creates the same pairs from a seed. The positive is
 * a fixed mixing of the query plus noise, so an adapter can learn to line the two sides up.
 */
function syntheticPairs(count: number, seed = 5): PairSource {
  const mixRng = mulberry32(seed);
  const mix = Float32Array.from({ length: D * D }, () => mixRng() * 2 - 1);
  return function* () {
    const rng = mulberry32(seed + 1);
    for (let n = 0; n < count; n++) {
      const query = Float32Array.from({ length: D }, () => rng() * 2 - 1);
      const positive = new Float32Array(D);
      for (let j = 0; j < D; j++) {
        let s = 0.3 * (rng() - 0.5);
        for (let i = 0; i < D; i++) s += query[i]! * mix[i * D + j]!;
        positive[j] = s;
      }
      yield { query, positive } satisfies TrainingPair;
    }
  };
}

const OPTIONS: AdapterTrainingOptions = {
  dims: D,
  seed: 42,
  lr: 0.02,
  batchSize: 16,
  maxEpochs: 6,
  patience: 2,
  temperature: 0.1,
  heldOutFraction: 0.2,
  shuffleBuffer: 40,
};

describe("AdapterTrainer", () => {
  it("lowers the held-out loss and repeats exactly with the same seed", async () => {
    const source = syntheticPairs(300);
    const a = await new AdapterTrainer(OPTIONS).train(source);
    const b = await new AdapterTrainer(OPTIONS).train(source);
    expect(a.status).toBe("completed");
    expect(a.history.length).toBeGreaterThan(0);
    expect(a.bestHeldOutLoss).toBeLessThan(a.initialHeldOutLoss * 0.8);
    expect(a.history.at(-1)!.trainLoss).toBeLessThan(a.history[0]!.trainLoss);
    expect(Array.from(b.params)).toEqual(Array.from(a.params));
    expect(b.history).toEqual(a.history);
    const other = await new AdapterTrainer({ ...OPTIONS, seed: 43 }).train(source);
    expect(Array.from(other.params)).not.toEqual(Array.from(a.params));
  });

  for (const architecture of [
    { kind: "linear" } as const,
    { kind: "residual", hidden: 6, activation: "gelu" } as const,
  ]) {
    it(`resumes an interrupted ${architecture.kind} run bit-identically from a JSON checkpoint`, async () => {
      const source = syntheticPairs(300);
      const options = { ...OPTIONS, architecture };
      const whole = await new AdapterTrainer(options).train(source);

      // Interrupt mid-epoch (step 17 of ~15 per epoch is inside epoch 2), as a kill would.
      const abort = new AbortController();
      const first = new AdapterTrainer(options, (p) => {
        if (p.step === 17) abort.abort();
      });
      const partial = await first.train(source, abort.signal);
      expect(partial.status).toBe("interrupted");
      expect(partial.steps).toBe(17);
      const saved = JSON.parse(JSON.stringify(first.state())) as AdapterTrainerState;
      expect(saved.batchInEpoch).toBeGreaterThan(0);

      const resumed = await AdapterTrainer.resume(saved).train(source);
      expect(resumed.status).toBe("completed");
      expect(resumed.steps).toBe(whole.steps);
      expect(Array.from(resumed.params)).toEqual(Array.from(whole.params));
      expect(resumed.history).toEqual(whole.history);
      expect(resumed.stopReason).toBe(whole.stopReason);
    });
  }

  it("stops early when the held-out loss stops improving", async () => {
    const result = await new AdapterTrainer({
      ...OPTIONS,
      maxEpochs: 200,
      patience: 2,
      minDelta: 1e-3,
    }).train(syntheticPairs(200));
    expect(result.stopReason).toBe("early-stopped");
    expect(result.history.length).toBeLessThan(200);
    expect(result.history.length).toBe(result.bestEpoch + 2);
  });

  it("streams from an async iterator", async () => {
    const sync = syntheticPairs(120);
    const asyncSource: PairSource = async function* () {
      for (const p of sync() as Iterable<TrainingPair>) yield p;
    };
    const a = await new AdapterTrainer(OPTIONS).train(asyncSource);
    const b = await new AdapterTrainer(OPTIONS).train(sync);
    expect(Array.from(a.params)).toEqual(Array.from(b.params));
  });

  it("names the bad pair by its position", async () => {
    const source: PairSource = function* () {
      yield* syntheticPairs(30)() as Iterable<TrainingPair>;
      yield { query: new Float32Array(D), positive: new Float32Array(D).fill(Number.NaN) };
    };
    const err = await new AdapterTrainer(OPTIONS).train(source).catch((e: unknown) => e);
    expect(isTrainingDataError(err)).toBe(true);
    expect((err as Error).message).toMatch(/^pair 30: positive\[0\] is not finite/);
  });

  it("rejects a batch size without negatives", () => {
    expect(() => new AdapterTrainer({ ...OPTIONS, batchSize: 1 })).toThrow(/batchSize/);
  });
});
