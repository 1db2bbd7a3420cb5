import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeLlamaModel, llamaIoNames } from "./llama-onnx.js";
import { argmax, type LlamaCache, LlamaReference } from "./llama-reference.js";
import { createLlamaWeights, type LlamaWeights, type TinyLlamaSpec } from "./llama-weights.js";

const SPEC: TinyLlamaSpec = {
  layers: 2,
  hidden: 64,
  heads: 4,
  kvHeads: 2,
  intermediate: 128,
  vocabSize: 300,
  maxPositions: 128,
  ropeTheta: 10000,
  seed: 7,
};

interface Step {
  logits: Float32Array;
  cache: LlamaCache;
}

let weights: LlamaWeights;
let session: ort.InferenceSession;
let reference: LlamaReference;

/** One-sequence ONNX forward with the cache in the same shape as the reference's. */
async function onnxForward(ids: readonly number[], past: LlamaCache): Promise<Step> {
  const { kvHeads, layers } = SPEC;
  const d = weights.headDim;
  const s = ids.length;
  const t = past.length + s;
  const feeds: Record<string, ort.Tensor> = {
    [llamaIoNames.inputIds]: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, s]),
    [llamaIoNames.attentionMask]: new ort.Tensor("int64", new BigInt64Array(t).fill(1n), [1, t]),
    [llamaIoNames.positionIds]: new ort.Tensor(
      "int64",
      BigInt64Array.from(ids, (_, i) => BigInt(past.length + i)),
      [1, s],
    ),
  };
  for (let l = 0; l < layers; l++) {
    const dims = [1, kvHeads, past.length, d];
    feeds[llamaIoNames.pastKey(l)] = new ort.Tensor("float32", past.keys[l]!, dims);
    feeds[llamaIoNames.pastValue(l)] = new ort.Tensor("float32", past.values[l]!, dims);
  }
  const out = await session.run(feeds);
  const keys: Float32Array[] = [];
  const values: Float32Array[] = [];
  for (let l = 0; l < layers; l++) {
    keys.push(out[llamaIoNames.presentKey(l)]!.data as Float32Array);
    values.push(out[llamaIoNames.presentValue(l)]!.data as Float32Array);
  }
  return {
    logits: out[llamaIoNames.logits]!.data as Float32Array,
    cache: { length: t, keys, values },
  };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

beforeAll(async () => {
  weights = createLlamaWeights(SPEC);
  reference = new LlamaReference(weights);
  session = await ort.InferenceSession.create(encodeLlamaModel(weights), {
    executionProviders: ["cpu"],
    intraOpNumThreads: 1,
  });
});

afterAll(async () => {
  await session?.release();
});

describe("tiny llama onnx graph", () => {
  it("has Optimum's input and output names", () => {
    expect(session.inputNames).toEqual([
      "input_ids",
      "attention_mask",
      "position_ids",
      "past_key_values.0.key",
      "past_key_values.0.value",
      "past_key_values.1.key",
      "past_key_values.1.value",
    ]);
    expect(session.outputNames).toEqual([
      "logits",
      "present.0.key",
      "present.0.value",
      "present.1.key",
      "present.1.value",
    ]);
  });

  it("matches the reference on prefill (empty past) and on cached steps", async () => {
    const prompt = [1, 17, 250, 3, 99, 42, 7];
    const ref = reference.forward(prompt);
    const got = await onnxForward(prompt, reference.emptyCache());
    expect(maxAbsDiff(got.logits, ref.logits)).toBeLessThan(1e-4);
    for (let l = 0; l < SPEC.layers; l++) {
      expect(maxAbsDiff(got.cache.keys[l]!, ref.cache.keys[l]!)).toBeLessThan(1e-4);
      expect(maxAbsDiff(got.cache.values[l]!, ref.cache.values[l]!)).toBeLessThan(1e-4);
    }
    // Logits vary enough that the comparison means something.
    expect(Math.max(...ref.logits) - Math.min(...ref.logits)).toBeGreaterThan(1);

    let refStep: Step = ref;
    let onnxStep: Step = got;
    for (const token of [5, 123, 299]) {
      refStep = reference.forward([token], refStep.cache);
      onnxStep = await onnxForward([token], onnxStep.cache);
      expect(maxAbsDiff(onnxStep.logits, refStep.logits)).toBeLessThan(1e-4);
    }
    // A multi-token chunk after a past exercises the causal mask's offset.
    refStep = reference.forward([8, 9, 10], refStep.cache);
    onnxStep = await onnxForward([8, 9, 10], onnxStep.cache);
    expect(maxAbsDiff(onnxStep.logits, refStep.logits)).toBeLessThan(1e-4);
  });

  it("decodes the same 20 greedy tokens with and without the cache", async () => {
    const prompt = [1, 40, 41, 42];
    const empty = reference.emptyCache();
    const uncached: number[] = [];
    const seq = [...prompt];
    for (let i = 0; i < 20; i++) {
      const { logits } = await onnxForward(seq, empty);
      const next = argmax(logits.subarray((seq.length - 1) * SPEC.vocabSize));
      uncached.push(next);
      seq.push(next);
    }
    const cached: number[] = [];
    let step = await onnxForward(prompt, empty);
    let row = step.logits.subarray((prompt.length - 1) * SPEC.vocabSize);
    for (let i = 0; i < 20; i++) {
      const next = argmax(row);
      cached.push(next);
      step = await onnxForward([next], step.cache);
      row = step.logits;
    }
    expect(cached).toEqual(uncached);
    expect(cached).toEqual(reference.greedy(prompt, 20));
    expect(new Set(cached).size).toBeGreaterThan(1);
  });

  it("keeps a left-padded row of a batch equal to the row alone", async () => {
    const { kvHeads, layers, vocabSize } = SPEC;
    const d = weights.headDim;
    const long = reference.forward([1, 5, 6, 7, 8, 9]);
    const short = reference.forward([1, 50, 60]);
    const pad = long.cache.length - short.cache.length;
    const t = long.cache.length + 1;
    const mask = new BigInt64Array(2 * t).fill(1n);
    for (let i = 0; i < pad; i++) mask[t + i] = 0n;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", BigInt64Array.from([11n, 12n]), [2, 1]),
      attention_mask: new ort.Tensor("int64", mask, [2, t]),
      position_ids: new ort.Tensor(
        "int64",
        BigInt64Array.from([long.cache.length, short.cache.length], BigInt),
        [2, 1],
      ),
    };
    const p = long.cache.length;
    for (let l = 0; l < layers; l++) {
      for (const kind of ["key", "value"] as const) {
        const buf = new Float32Array(2 * kvHeads * p * d);
        const a = kind === "key" ? long.cache.keys[l]! : long.cache.values[l]!;
        const b = kind === "key" ? short.cache.keys[l]! : short.cache.values[l]!;
        buf.set(a, 0);
        const sp = short.cache.length;
        for (let h = 0; h < kvHeads; h++) {
          buf.set(b.subarray(h * sp * d, (h + 1) * sp * d), (kvHeads + h) * p * d + pad * d);
        }
        const name = kind === "key" ? llamaIoNames.pastKey(l) : llamaIoNames.pastValue(l);
        feeds[name] = new ort.Tensor("float32", buf, [2, kvHeads, p, d]);
      }
    }
    const out = await session.run(feeds);
    const logits = out.logits!.data as Float32Array;
    const refLong = reference.forward([11], long.cache).logits;
    const refShort = reference.forward([12], short.cache).logits;
    expect(maxAbsDiff(logits.subarray(0, vocabSize), refLong)).toBeLessThan(1e-4);
    expect(maxAbsDiff(logits.subarray(vocabSize), refShort)).toBeLessThan(1e-4);
  });
});
