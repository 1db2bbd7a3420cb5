import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LlamaFolder, LlamaReference, writeLlamaFolder } from "@tailor/models/testing";
import { adamMoments, adamStep } from "@tailor/train";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lossAndGradient, type TrainingSequence } from "./decoder-grad.js";
import { LoraParams } from "./lora-params.js";
import {
  type LoadedDecoder,
  loadTinyDecoder,
  mergeLora,
  targetInitializers,
} from "./onnx-decoder.js";
import { TARGET_MODULES } from "./spec.js";

let root: string;
let folder: LlamaFolder;
let loaded: LoadedDecoder;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tailor-lora-grad-"));
  folder = await writeLlamaFolder({
    dir: join(root, "llama"),
    model: {
      layers: 2,
      hidden: 16,
      heads: 4,
      kvHeads: 2,
      intermediate: 24,
      maxPositions: 64,
      ropeTheta: 10000,
      seed: 7,
    },
    tokenizer: { vocabSize: 280 },
  });
  const config = JSON.parse(await readFile(join(folder.dir, "config.json"), "utf8"));
  loaded = loadTinyDecoder(await readFile(join(folder.dir, "model.onnx")), config);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const seq: TrainingSequence = { ids: [1, 40, 77, 120, 9, 200, 31, 5], targetFrom: 4 };

describe("the tiny decoder's LoRA loss and gradient", () => {
  it("reads the generated decoder's weights back out of model.onnx", () => {
    expect(loaded.weights.embed).toEqual(folder.weights.embed);
    expect(loaded.weights.blocks[1]!.down).toEqual(folder.weights.layers[1]!.down);
    expect(loaded.weights.lmHead).toEqual(folder.weights.lmHead);
  });

  it("with B = 0 equals the cross-entropy of the reference forward pass", () => {
    const lora = new LoraParams(loaded.weights, ["q_proj", "v_proj"], 4, 8);
    lora.initialise(1n);
    const V = loaded.weights.vocabSize;
    const { logits } = new LlamaReference(folder.weights).forward(seq.ids);
    let want = 0;
    for (let t = seq.targetFrom; t < seq.ids.length; t++) {
      const row = Array.from(logits.subarray((t - 1) * V, t * V));
      const max = Math.max(...row);
      const lse = Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) + max;
      want += lse - row[seq.ids[t]!]!;
    }
    want /= seq.ids.length - seq.targetFrom;
    expect(lossAndGradient(loaded.weights, lora, seq)).toBeCloseTo(want, 4);
  });

  it("matches central finite differences for A and B of every module", () => {
    const lora = new LoraParams(loaded.weights, [...TARGET_MODULES], 2, 3);
    lora.initialise(11n);
    // B non-zero, so the gradient of A is not trivially zero.
    for (const s of lora.slots) {
      const b = lora.b(s);
      for (let i = 0; i < b.length; i++) b[i] = Math.sin(i * 1.3 + s.layer) * 0.05;
    }
    const grad = new Float64Array(lora.values.length);
    lossAndGradient(loaded.weights, lora, seq, grad);
    let checked = 0;
    for (const s of lora.slots) {
      for (const idx of [s.aOff + 1, s.aOff + 7, s.bOff + 3, s.bOff + 2 * s.outDim - 1]) {
        const p = lora.values[idx]!;
        const eps = 1e-2;
        lora.values[idx] = p + eps;
        const up = lossAndGradient(loaded.weights, lora, seq);
        const hi = lora.values[idx]!;
        lora.values[idx] = p - eps;
        const down = lossAndGradient(loaded.weights, lora, seq);
        const lo = lora.values[idx]!;
        lora.values[idx] = p;
        const numeric = (up - down) / (hi - lo);
        expect(Math.abs(numeric - grad[idx]!), `${s.layer}/${s.module}[${idx}]`).toBeLessThan(
          1e-4 + 1e-3 * Math.abs(numeric),
        );
        checked++;
      }
    }
    expect(checked).toBe(4 * TARGET_MODULES.length * 2);
  });

  it("learns: Adam on the LoRA matrices lowers the loss of a sequence it sees", () => {
    const lora = new LoraParams(loaded.weights, ["q_proj", "v_proj", "o_proj"], 4, 8);
    lora.initialise(3n);
    const state = adamMoments(lora.values.length);
    const before = lossAndGradient(loaded.weights, lora, seq);
    for (let step = 0; step < 40; step++) {
      const grad = new Float64Array(lora.values.length);
      lossAndGradient(loaded.weights, lora, seq, grad);
      adamStep(
        lora.values,
        grad,
        state,
        { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
        lora.values,
      );
    }
    const after = lossAndGradient(loaded.weights, lora, seq);
    expect(after).toBeLessThan(before * 0.5);
  });

  it("merges into exactly the targeted initializers", () => {
    const lora = new LoraParams(loaded.weights, ["k_proj", "down_proj"], 2, 4);
    lora.initialise(5n);
    for (const s of lora.slots) lora.b(s).fill(0.01);
    const { bytes, rewritten } = mergeLora(loaded, lora, "test");
    expect(rewritten).toEqual(targetInitializers(["k_proj", "down_proj"], 2));
    const config = {
      num_hidden_layers: 2,
      hidden_size: 16,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      intermediate_size: 24,
      vocab_size: loaded.weights.vocabSize,
    };
    const merged = loadTinyDecoder(bytes, config);
    expect(merged.weights.blocks[0]!.k).toEqual(lora.merged(loaded.weights, lora.slots[0]!));
    expect(merged.weights.blocks[0]!.k).not.toEqual(loaded.weights.blocks[0]!.k);
    expect(merged.weights.blocks[0]!.q).toEqual(loaded.weights.blocks[0]!.q);
    expect(merged.model.graph?.node?.length).toBe(loaded.model.graph?.node?.length);
  });
});
