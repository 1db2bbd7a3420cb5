import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { WordTokenizer } from "@tailor/models";
import { mulberry32 } from "@tailor/models/random";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { type AdapterSpec, applyAdapter, initParameters } from "./adapter.js";
import { isHeldOut, type PairSource } from "./pair-stream.js";
import { AdapterTrainer, type AdapterTrainingOptions } from "./trainer.js";

// Real data: CISI title → abstract pairs, embedded with the project's GloVe model when it is built
// (TAILOR_TEST_MODEL_DIR, as the other model tests), else with seeded random word vectors.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const CISI_ALL = resolve(ROOT, "../shared/data/cisi/CISI.ALL");
const MODEL_DIR = process.env["TAILOR_TEST_MODEL_DIR"] ?? join(ROOT, ".tailor/models");
const GLOVE = join(MODEL_DIR, "glove-sg-100d");

/** `.I` records of CISI.ALL reduced to title and abstract (`.W`). */
function parseCisi(text: string): { title: string; body: string }[] {
  const docs: { title: string; body: string }[] = [];
  let field = "";
  let title: string[] = [];
  let body: string[] = [];
  const flush = () => {
    if (title.length > 0 && body.length > 0)
      docs.push({ title: title.join(" ").trim(), body: body.join(" ").trim() });
  };
  for (const line of text.split(/\r?\n/)) {
    const m = /^\.([A-Z])(?:\s+(.*))?$/.exec(line);
    if (m) {
      if (m[1] === "I") {
        flush();
        title = [];
        body = [];
      }
      field = m[1]!;
      continue;
    }
    if (field === "T") title.push(line);
    else if (field === "W") body.push(line);
  }
  flush();
  return docs;
}

/** Mean-pooled, L2-normalised sentence vectors from the built GloVe model (the model-server's embedder). */
async function gloveEmbed(texts: string[]): Promise<{ vectors: Float32Array; dims: number }> {
  const tokenizer = WordTokenizer.fromVocabText(readFileSync(join(GLOVE, "vocab.txt"), "utf8"));
  const session = await ort.InferenceSession.create(join(GLOVE, "model.onnx"));
  try {
    const dims = 100;
    const vectors = new Float32Array(texts.length * dims);
    for (let start = 0; start < texts.length; start += 128) {
      const batch = tokenizer.encodeBatch(texts.slice(start, start + 128), 256);
      const shape = [batch.batch, batch.seqLen];
      const out = await session.run({
        input_ids: new ort.Tensor("int64", batch.ids, shape),
        attention_mask: new ort.Tensor("float32", batch.mask, shape),
      });
      vectors.set(out["sentence_embedding"]!.data as Float32Array, start * dims);
    }
    return { vectors, dims };
  } finally {
    await session.release();
  }
}

/** Fallback: averaged seeded random word vectors, normalised. */
function randomWordEmbed(texts: string[]): { vectors: Float32Array; dims: number } {
  const dims = 64;
  const table = new Map<string, Float32Array>();
  const rng = mulberry32(11);
  const vectors = new Float32Array(texts.length * dims);
  texts.forEach((t, i) => {
    const row = vectors.subarray(i * dims, (i + 1) * dims);
    for (const w of t.toLowerCase().match(/[a-z]{3,}/g) ?? []) {
      let v = table.get(w);
      if (!v) {
        v = Float32Array.from({ length: dims }, () => rng() - 0.5);
        table.set(w, v);
      }
      for (let j = 0; j < dims; j++) row[j] = row[j]! + v[j]!;
    }
    const norm = Math.hypot(...row) || 1;
    for (let j = 0; j < dims; j++) row[j] = row[j]! / norm;
  });
  return { vectors, dims };
}

/** Mean 1-based rank of each query's own document among all `n` documents, by cosine. */
function meanRank(queries: Float32Array, docs: Float32Array, n: number, dims: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const score = (j: number) => {
      let s = 0;
      for (let k = 0; k < dims; k++) s += queries[i * dims + k]! * docs[j * dims + k]!;
      return s;
    };
    const own = score(i);
    let rank = 1;
    for (let j = 0; j < n; j++) if (j !== i && score(j) > own) rank++;
    total += rank;
  }
  return total / n;
}

let titles: Float32Array;
let bodies: Float32Array;
let dims: number;
let count: number;
let embedder: string;

beforeAll(async () => {
  const docs = parseCisi(readFileSync(CISI_ALL, "latin1"));
  count = docs.length;
  const useGlove = existsSync(join(GLOVE, "model.onnx"));
  embedder = useGlove ? "glove-sg-100d" : "random word vectors";
  const embed = useGlove ? gloveEmbed : async (t: string[]) => randomWordEmbed(t);
  const t = await embed(docs.map((d) => d.title));
  const b = await embed(docs.map((d) => d.body));
  titles = t.vectors;
  bodies = b.vectors;
  dims = t.dims;
});

describe("adapter training on CISI title → abstract pairs", () => {
  it("improves the held-out mean rank of the positive over the identity adapter", async () => {
    expect(count).toBeGreaterThan(1000);
    const options: AdapterTrainingOptions = {
      dims,
      seed: 7,
      lr: 2e-3,
      batchSize: 64,
      maxEpochs: 30,
      patience: 3,
      temperature: 0.05,
      heldOutFraction: 0.15,
    };
    const source: PairSource = function* () {
      for (let i = 0; i < count; i++)
        yield {
          query: titles.subarray(i * dims, (i + 1) * dims),
          positive: bodies.subarray(i * dims, (i + 1) * dims),
        };
    };
    const started = performance.now();
    const result = await new AdapterTrainer(options).train(source);
    const ms = performance.now() - started;

    const held: number[] = [];
    for (let i = 0; i < count; i++) if (isHeldOut(options.seed, i, 0.15)) held.push(i);
    expect(held.length).toBeGreaterThan(100);
    const pick = (all: Float32Array) => {
      const out = new Float32Array(held.length * dims);
      held.forEach((i, r) => {
        out.set(all.subarray(i * dims, (i + 1) * dims), r * dims);
      });
      return out;
    };
    const q = pick(titles);
    const d = pick(bodies);
    const spec: AdapterSpec = { dims, architecture: { kind: "linear" } };
    const identity = initParameters(spec, mulberry32(0));
    const rankBefore = meanRank(
      applyAdapter(spec, identity, q),
      applyAdapter(spec, identity, d),
      held.length,
      dims,
    );
    const rankAfter = meanRank(
      applyAdapter(spec, result.params, q),
      applyAdapter(spec, result.params, d),
      held.length,
      dims,
    );
    console.info(
      JSON.stringify({
        embedder,
        pairs: count,
        heldOut: held.length,
        initialHeldOutLoss: result.initialHeldOutLoss,
        bestHeldOutLoss: result.bestHeldOutLoss,
        firstEpoch: result.history[0],
        lastEpoch: result.history.at(-1),
        bestEpoch: result.bestEpoch,
        stopReason: result.stopReason,
        steps: result.steps,
        rankBefore,
        rankAfter,
        trainMs: Math.round(ms),
      }),
    );
    expect(result.bestEpoch).toBeGreaterThan(0);
    expect(result.bestHeldOutLoss).toBeLessThan(result.initialHeldOutLoss);
    expect(rankAfter).toBeLessThan(rankBefore * 0.9);
  });
});
