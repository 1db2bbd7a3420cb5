import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildGloveModel,
  loadWinkEmbeddings,
  type WinkEmbeddings,
  WordTokenizer,
} from "@tailor/models";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnnxEmbedder } from "./embedder.js";

// Shared across runs and test files: the first run pays the ~13 s conversion, later runs reuse it.
const MODEL_CACHE = join(tmpdir(), "tailor-test-models");

let wink: WinkEmbeddings;
let embedder: OnnxEmbedder;
let tokenizer: WordTokenizer;

beforeAll(async () => {
  wink = await loadWinkEmbeddings();
  const files = await buildGloveModel({ outDir: MODEL_CACHE, source: wink });
  embedder = await OnnxEmbedder.load(files.dir, { maxTokens: 128, intraOpThreads: 2 });
  tokenizer = WordTokenizer.fromVocabText(await readFile(files.vocabPath, "utf8"));
});

afterAll(async () => {
  await embedder?.close();
});

/** The same maths in plain TypeScript, straight from the package's vectors, in float64. */
function reference(text: string): Float64Array {
  const ids = tokenizer.encode(text, 128);
  const sum = new Float64Array(wink.dimensions);
  let known = 0;
  for (const id of ids) {
    if (id <= 1) continue;
    const vec = wink.vectors[wink.words[id - 2]!]!;
    for (let d = 0; d < sum.length; d++) sum[d]! += vec[d]!;
    known++;
  }
  if (known === 0) return sum;
  let norm = 0;
  for (let d = 0; d < sum.length; d++) {
    sum[d]! /= known;
    norm += sum[d]! ** 2;
  }
  norm = Math.sqrt(norm);
  for (let d = 0; d < sum.length; d++) sum[d]! /= norm;
  return sum;
}

const row = (v: Float32Array, i: number) => v.subarray(i * 100, (i + 1) * 100);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

const SENTENCES = [
  "The quick brown fox jumps over the lazy dog.",
  "Don't stop believing: it's well-known that O'Brien can't sing!",
  "Stock markets fell sharply on Tuesday after the central bank raised interest rates.",
  "Café naïve résumé",
  "king",
  "Tailor turns an organisation's own data into customised AI",
];

describe("OnnxEmbedder", () => {
  it("describes the model", () => {
    expect(embedder.name).toBe("glove-sg-100d");
    expect(embedder.dimensions).toBe(100);
    expect(embedder.version).toMatch(/^[0-9a-f]{12}$/);
    expect(embedder.executionProvider).toBe("cpu");
    expect(embedder.memoryBytes).toBeGreaterThan(136_000_000);
  });

  it("matches a TypeScript reference of lookup + masked mean + L2 within 1e-5", async () => {
    const { vectors, tokenCounts } = await embedder.embed(SENTENCES);
    expect(vectors.length).toBe(SENTENCES.length * 100);
    SENTENCES.forEach((s, i) => {
      const ref = reference(s);
      const got = row(vectors, i);
      let maxDiff = 0;
      for (let d = 0; d < 100; d++) maxDiff = Math.max(maxDiff, Math.abs(got[d]! - ref[d]!));
      expect(maxDiff, s).toBeLessThan(1e-5);
      expect(dot(got, got), s).toBeCloseTo(1, 5);
      expect(tokenCounts[i]).toBe(tokenizer.encode(s, 128).length);
    });
  });

  it("places related words closer than unrelated ones", async () => {
    const { vectors } = await embedder.embed([
      "king",
      "queen",
      "carrot",
      "the cat sat on the mat",
      "a kitten slept on the rug",
      "stock prices fell sharply",
    ]);
    expect(dot(row(vectors, 0), row(vectors, 1))).toBeGreaterThan(
      dot(row(vectors, 0), row(vectors, 2)) + 0.3,
    );
    expect(dot(row(vectors, 3), row(vectors, 4))).toBeGreaterThan(
      dot(row(vectors, 3), row(vectors, 5)),
    );
  });

  it("gives texts without known words a zero vector, never NaN", async () => {
    const texts = ["", "   ", "12345 67", "!!! ???", "zzqxjv", "the"];
    const { vectors, tokenCounts } = await embedder.embed(texts);
    for (let i = 0; i < 5; i++)
      expect(
        Array.from(row(vectors, i)).every((x) => x === 0),
        texts[i],
      ).toBe(true);
    expect(vectors.some(Number.isNaN)).toBe(false);
    expect(Array.from(tokenCounts)).toEqual([0, 0, 2, 0, 1, 1]);
  });

  it("gives the same vectors in one big mixed-length batch as one by one", async () => {
    const texts: string[] = [];
    for (let i = 0; i < 600; i++) {
      const base = SENTENCES[i % SENTENCES.length]!;
      texts.push(i % 7 === 0 ? "" : base.repeat(1 + (i % 5)).slice(0, 20 + ((i * 37) % 400)));
    }
    const together = await embedder.embed(texts);
    for (const i of [0, 1, 2, 3, 50, 299, 300, 599]) {
      const alone = await embedder.embed([texts[i]!]);
      const a = row(together.vectors, i);
      const b = row(alone.vectors, 0);
      for (let d = 0; d < 100; d++) expect(Math.abs(a[d]! - b[d]!)).toBeLessThan(1e-6);
      expect(together.tokenCounts[i]).toBe(alone.tokenCounts[0]);
    }
  });

  it("truncates texts at maxTokens", async () => {
    const { tokenCounts } = await embedder.embed(["the ".repeat(1000)]);
    expect(tokenCounts[0]).toBe(128);
  });

  it("handles an empty request", async () => {
    const { vectors, tokenCounts } = await embedder.embed([]);
    expect(vectors.length).toBe(0);
    expect(tokenCounts.length).toBe(0);
  });
});

describe("real vocabulary tokenisation", () => {
  const words = (text: string) =>
    Array.from(tokenizer.encode(text, 64), (id) => (id > 1 ? wink.words[id - 2] : "<unk>"));

  it("spells words the way the vocabulary does", () => {
    expect(words("Don't can't won't it's")).toEqual([
      "do",
      "not",
      "can",
      "not",
      "will",
      "not",
      "it",
    ]);
    expect(words("well-known state-of-the-art")).toEqual(["well-known", "state-of-the-art"]);
    expect(words("O'Brien café 1990s G8")).toEqual(["obrien", "cafe", "<unk>", "g8"]);
  });
});
