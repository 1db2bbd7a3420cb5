import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HfTokenizer, loadHfFolder, ModelLoadError, type PoolingMode } from "@tailor/models";
import {
  l2Normalize,
  referenceBert,
  referenceLinear,
  referencePool,
  referenceSigmoid,
  referenceSoftmax,
  type WrittenAdapterFolder,
  type WrittenModelFolder,
  writeAdapterFolder,
  writeModelFolder,
} from "@tailor/models/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EncoderModel, ModelKindError } from "./encoder.js";

const TOLERANCE = 1e-4;
const TEXTS = [
  "cat",
  "The dog likes coffee and tea in the morning.",
  "",
  "What is a vector search server?",
  "people walk in the city at night, they eat bread and drink water; the river is slow and old",
];

let root: string;
const folders: Record<string, WrittenModelFolder> = {};
let adapter: WrittenAdapterFolder;
const open: EncoderModel[] = [];

async function load(name: string, opts: Parameters<typeof EncoderModel.load>[1] = {}) {
  const model = await EncoderModel.load(join(root, name), { intraOpThreads: 1, ...opts });
  open.push(model);
  return model;
}

/** The ids the reference sees: the folder's own tokenizer, independent of EncoderModel. */
async function tokenizerOf(name: string, maxLength?: number) {
  const folder = await loadHfFolder(join(root, name));
  return HfTokenizer.fromFolder(folder, maxLength === undefined ? {} : { maxLength });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

async function referenceEmbeddings(
  name: string,
  texts: readonly string[],
  pooling: PoolingMode,
  normalize: boolean,
  maxLength?: number,
): Promise<Float64Array[]> {
  const tok = await tokenizerOf(name, maxLength);
  const model = folders[name]!.model;
  return texts.map((t) => {
    const row = tok.encodeRow(t);
    const { hidden } = referenceBert(model, row.ids, row.typeIds);
    return referencePool(hidden, row.ids.length, model.shape.hidden, pooling, normalize);
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tailor-encoder-"));
  folders["emb-mean"] = await writeModelFolder(join(root, "emb-mean"), {
    kind: "embedder",
    pooling: "mean",
  });
  // No token-type table: the graph has no token_type_ids input, so the encoder must not feed one.
  folders["emb-cls"] = await writeModelFolder(join(root, "emb-cls"), {
    kind: "embedder",
    pooling: "cls",
    poolingStyle: "sentence-transformers",
    normalize: false,
    bert: { typeVocab: 0, seed: 2 },
  });
  folders["emb-short"] = await writeModelFolder(join(root, "emb-short"), {
    kind: "embedder",
    modelMaxLength: 8,
    bert: { seed: 3 },
  });
  folders["reranker"] = await writeModelFolder(join(root, "reranker"), {
    kind: "reranker",
    bert: { seed: 4 },
  });
  folders["classifier"] = await writeModelFolder(join(root, "classifier"), {
    kind: "classifier",
    labels: ["negative", "neutral", "positive"],
    bert: { seed: 5 },
  });
  folders["multi"] = await writeModelFolder(join(root, "multi"), {
    kind: "classifier",
    labels: ["toxic", "spam", "off-topic", "ok"],
    multiLabel: true,
    bert: { seed: 6 },
  });
  adapter = await writeAdapterFolder(join(root, "adapter"), { base: "emb-mean", dimensions: 32 });
});

afterAll(async () => {
  for (const m of open) await m.close();
  await rm(root, { recursive: true, force: true });
});

describe("EncoderModel embedders", () => {
  it("mean-pools and normalises like the reference", async () => {
    const model = await load("emb-mean");
    expect(model.kind).toBe("embedder");
    expect(model.dimensions).toBe(32);
    const { vectors, tokenCounts } = await model.embed(TEXTS);
    const expected = await referenceEmbeddings("emb-mean", TEXTS, "mean", true);
    for (let i = 0; i < TEXTS.length; i++) {
      expect(maxAbsDiff(vectors.subarray(i * 32, (i + 1) * 32), expected[i]!)).toBeLessThan(
        TOLERANCE,
      );
    }
    expect(tokenCounts[0]).toBe(3); // [CLS] cat [SEP]
    expect(tokenCounts[2]).toBe(2); // [CLS] [SEP]
  });

  it("uses sentence-transformers CLS pooling, no normalisation, and no token_type_ids input", async () => {
    const model = await load("emb-cls");
    expect(model.pooling).toBe("cls");
    expect(model.normalize).toBe(false);
    const { vectors } = await model.embed(TEXTS);
    const expected = await referenceEmbeddings("emb-cls", TEXTS, "cls", false);
    for (let i = 0; i < TEXTS.length; i++) {
      expect(maxAbsDiff(vectors.subarray(i * 32, (i + 1) * 32), expected[i]!)).toBeLessThan(
        TOLERANCE,
      );
    }
  });

  it("gives the same vectors batched, one by one and in small sub-batches", async () => {
    const model = await load("emb-mean");
    const small = await load("emb-mean", { maxBatchTexts: 2, maxBatchTokens: 40 });
    const batched = await model.embed(TEXTS);
    const split = await small.embed(TEXTS);
    expect(maxAbsDiff(batched.vectors, split.vectors)).toBeLessThan(1e-5);
    for (let i = 0; i < TEXTS.length; i++) {
      const single = await model.embed([TEXTS[i]!]);
      expect(
        maxAbsDiff(single.vectors, batched.vectors.subarray(i * 32, (i + 1) * 32)),
      ).toBeLessThan(1e-5);
    }
  });

  it("truncates to tokenizer_config model_max_length, keeping [SEP] last", async () => {
    const model = await load("emb-short");
    expect(model.maxLength).toBe(8);
    const long = TEXTS[4]!;
    const { vectors, tokenCounts } = await model.embed([long, "cat"]);
    expect(Array.from(tokenCounts)).toEqual([8, 3]);
    const [tokens] = model.tokenize([long]);
    expect(tokens!.tokens).toHaveLength(8);
    expect(tokens!.tokens.at(-1)).toBe("[SEP]");
    const expected = await referenceEmbeddings("emb-short", [long], "mean", true);
    expect(maxAbsDiff(vectors.subarray(0, 32), expected[0]!)).toBeLessThan(TOLERANCE);
  });

  it("caps tokens with the maxLength load option", async () => {
    const model = await load("emb-mean", { maxLength: 6 });
    const { vectors, tokenCounts } = await model.embed([TEXTS[1]!]);
    expect(tokenCounts[0]).toBe(6);
    const expected = await referenceEmbeddings("emb-mean", [TEXTS[1]!], "mean", true, 6);
    expect(maxAbsDiff(vectors, expected[0]!)).toBeLessThan(TOLERANCE);
  });

  it("derives the version from content, or takes it from the caller", async () => {
    const a = await load("emb-mean");
    const b = await load("emb-mean");
    const c = await load("emb-cls");
    expect(a.version).toMatch(/^[0-9a-f]{12}$/);
    expect(a.version).toBe(b.version);
    expect(a.version).not.toBe(c.version);
    expect((await load("emb-mean", { version: "v7" })).version).toBe("v7");
    expect(a.memoryBytes).toBeGreaterThan(folders["emb-mean"]!.model.bytes.byteLength);
  });

  it("handles an empty request without calling the model", async () => {
    const model = await load("emb-mean");
    const { vectors, tokenCounts } = await model.embed([]);
    expect(vectors).toHaveLength(0);
    expect(tokenCounts).toHaveLength(0);
  });
});

describe("EncoderModel adapters", () => {
  it("applies the adapter to the base's vectors and re-normalises", async () => {
    const base = await load("emb-mean");
    const model = await load("adapter", { base });
    expect(model.kind).toBe("adapter");
    expect(model.dimensions).toBe(32);
    expect(model.version).not.toBe(base.version);
    const { vectors, tokenCounts } = await model.embed(TEXTS);
    const baseVectors = await referenceEmbeddings("emb-mean", TEXTS, "mean", true);
    for (let i = 0; i < TEXTS.length; i++) {
      const expected = l2Normalize(referenceLinear(baseVectors[i]!, adapter.weight, adapter.bias));
      expect(maxAbsDiff(vectors.subarray(i * 32, (i + 1) * 32), expected)).toBeLessThan(TOLERANCE);
    }
    expect(Array.from(tokenCounts)).toEqual(Array.from((await base.embed(TEXTS)).tokenCounts));
    expect(model.tokenize(["cat"])[0]!.tokens).toEqual(["[CLS]", "cat", "[SEP]"]);
  });

  it("refuses to load without a base, or over a base of another size", async () => {
    await expect(EncoderModel.load(join(root, "adapter"))).rejects.toThrow(ModelLoadError);
    const cls = await load("reranker");
    await expect(EncoderModel.load(join(root, "adapter"), { base: cls })).rejects.toThrow(
      /cannot follow/,
    );
  });
});

describe("EncoderModel rerankers", () => {
  it("scores (query, passage) pairs like the reference, batched or not", async () => {
    const model = await load("reranker");
    expect(model.kind).toBe("reranker");
    const query = "where is the cat";
    const passages = TEXTS;
    const scores = await model.rerank(query, passages);
    const tok = await tokenizerOf("reranker");
    const bert = folders["reranker"]!.model;
    passages.forEach((p, i) => {
      const row = tok.encodeRow(query, p);
      const { logits } = referenceBert(bert, row.ids, row.typeIds);
      expect(Math.abs(scores[i]! - logits[0]!)).toBeLessThan(TOLERANCE);
    });
    const one = await model.rerank(query, [passages[1]!]);
    expect(Math.abs(one[0]! - scores[1]!)).toBeLessThan(1e-5);
    await expect(model.embed(["x"])).rejects.toThrow(ModelKindError);
  });

  it("encodes pairs as [CLS] a [SEP] b [SEP] with segment ids 0 then 1", async () => {
    const model = await load("reranker");
    const [pair] = model.tokenize(["what is a cat"], { pairs: ["the dog"] });
    expect(pair!.tokens).toEqual([
      "[CLS]",
      "what",
      "is",
      "a",
      "cat",
      "[SEP]",
      "the",
      "dog",
      "[SEP]",
    ]);
  });
});

describe("EncoderModel classifiers", () => {
  it("returns softmax probabilities over id2label, best first", async () => {
    const model = await load("classifier");
    expect(model.labels).toEqual(["negative", "neutral", "positive"]);
    const results = await model.classify(TEXTS);
    const tok = await tokenizerOf("classifier");
    TEXTS.forEach((t, i) => {
      const row = tok.encodeRow(t);
      const probs = referenceSoftmax(
        referenceBert(folders["classifier"]!.model, row.ids, row.typeIds).logits,
      );
      const got = results[i]!;
      expect(got.map((s) => s.score)).toEqual([...got.map((s) => s.score)].sort((a, b) => b - a));
      for (const { label, score } of got) {
        expect(Math.abs(score - probs[model.labels.indexOf(label)]!)).toBeLessThan(TOLERANCE);
      }
    });
  });

  it("uses sigmoids for multi_label_classification", async () => {
    const model = await load("multi");
    const [result] = await model.classify([TEXTS[1]!]);
    const row = (await tokenizerOf("multi")).encodeRow(TEXTS[1]!);
    const probs = referenceSigmoid(
      referenceBert(folders["multi"]!.model, row.ids, row.typeIds).logits,
    );
    expect(result).toHaveLength(4);
    for (const { label, score } of result!) {
      expect(Math.abs(score - probs[model.labels.indexOf(label)]!)).toBeLessThan(TOLERANCE);
    }
  });
});

describe("EncoderModel loading", () => {
  it("names the missing tokenizer.json", async () => {
    const dir = join(root, "no-tokenizer");
    await writeModelFolder(dir, { kind: "embedder" });
    await rm(join(dir, "tokenizer.json"));
    const err = await EncoderModel.load(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as ModelLoadError).code).toBe("model_load_failed");
    expect((err as Error).message).toContain("tokenizer.json");
    expect((err as Error).message).toContain(dir);
  });
});
