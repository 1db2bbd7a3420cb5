import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { buildTinyBert, seededNormal, type TinyBertOptions } from "./bert-onnx.js";
import { referenceBert, referencePool, referenceSoftmax } from "./bert-reference.js";
import { buildMiniLmShaped, MINILM_SHAPE } from "./minilm.js";

const { onnx } = onnxProto;
const TINY: TinyBertOptions = {
  layers: 2,
  hidden: 32,
  heads: 4,
  intermediate: 64,
  vocabSize: 100,
  maxPositions: 32,
  typeVocab: 2,
  head: "none",
  seed: 1,
  std: 0.1,
};

function decode(bytes: Uint8Array) {
  return onnx.ModelProto.decode(bytes);
}

describe("buildTinyBert", () => {
  it("writes a BERT encoder graph with the Hugging Face input and output names", () => {
    const model = decode(buildTinyBert(TINY).bytes);
    const graph = model.graph!;
    expect(Number(model.opsetImport[0]?.version)).toBe(17);
    expect((graph.input ?? []).map((i) => i.name)).toEqual([
      "input_ids",
      "attention_mask",
      "token_type_ids",
    ]);
    expect((graph.output ?? []).map((o) => o.name)).toEqual(["last_hidden_state"]);
    const ops = (graph.node ?? []).map((n) => n.opType);
    // Embeddings + 2 per layer.
    expect(ops.filter((o) => o === "LayerNormalization")).toHaveLength(1 + 2 * TINY.layers);
    expect(ops.filter((o) => o === "Softmax")).toHaveLength(TINY.layers);
    expect(ops.filter((o) => o === "Erf")).toHaveLength(TINY.layers);
  });

  it("has no token_type_ids input without a token-type table", () => {
    const graph = decode(buildTinyBert({ ...TINY, typeVocab: 0 }).bytes).graph!;
    expect((graph.input ?? []).map((i) => i.name)).toEqual(["input_ids", "attention_mask"]);
  });

  it("puts a pooler and a linear layer on top for the reranker and classifier heads", () => {
    const reranker = buildTinyBert({ ...TINY, head: "reranker" });
    expect(reranker.shape.numLabels).toBe(1);
    const graph = decode(reranker.bytes).graph!;
    expect((graph.output ?? []).map((o) => o.name)).toEqual(["logits"]);
    expect((graph.node ?? []).some((n) => n.opType === "Tanh")).toBe(true);
    const classifier = buildTinyBert({ ...TINY, head: "classifier", numLabels: 3 });
    expect(classifier.weights.classifier).toHaveLength(32 * 3);
    expect(referenceBert(classifier, [2, 10, 3]).logits).toHaveLength(3);
  });

  it("is deterministic per seed", () => {
    const a = buildTinyBert(TINY);
    const b = buildTinyBert(TINY);
    const c = buildTinyBert({ ...TINY, seed: 2 });
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(a.weights.word).not.toEqual(c.weights.word);
  });

  it("builds MiniLM-L6-shaped models for benches", () => {
    const m = buildMiniLmShaped({ vocabSize: 200 });
    expect(m.shape).toMatchObject({ ...MINILM_SHAPE, vocabSize: 200, headDim: 32 });
    expect(m.weights.layers).toHaveLength(6);
    expect(m.bytes.byteLength).toBeGreaterThan(6 * (4 * 384 * 384 + 2 * 384 * 1536) * 4);
  });
});

describe("referenceBert", () => {
  const model = buildTinyBert(TINY);

  it("gives layer-normalised token vectors that depend on every token and on position", () => {
    const { hidden } = referenceBert(model, [2, 10, 20, 3]);
    expect(hidden).toHaveLength(4 * 32);
    const swapped = referenceBert(model, [2, 20, 10, 3]).hidden;
    const changed = referenceBert(model, [2, 10, 21, 3]).hidden;
    const pool = (h: Float64Array) => referencePool(h, 4, 32, "mean", true);
    expect(pool(hidden)).not.toEqual(pool(swapped));
    // The first token attends to the third: changing it changes the [CLS] vector.
    expect(hidden.subarray(0, 32)).not.toEqual(changed.subarray(0, 32));
  });

  it("pools mean / cls / last and normalises", () => {
    const hidden = Float64Array.from([1, 2, 3, 4, 5, 6]);
    expect(Array.from(referencePool(hidden, 3, 2, "mean", false))).toEqual([3, 4]);
    expect(Array.from(referencePool(hidden, 3, 2, "cls", false))).toEqual([1, 2]);
    expect(Array.from(referencePool(hidden, 2, 2, "last", false))).toEqual([3, 4]);
    const n = referencePool(hidden, 3, 2, "mean", true);
    expect(Math.hypot(...n)).toBeCloseTo(1, 12);
  });

  it("has probabilities that sum to one", () => {
    const p = referenceSoftmax([1, 2, 3]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it("draws standard normal samples", () => {
    const next = seededNormal(9);
    let sum = 0;
    let sq = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const x = next();
      sum += x;
      sq += x * x;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.05);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
  });
});
