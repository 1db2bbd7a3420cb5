import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { percentile } from "@tailor/eval";
import { KeywordIndex } from "@tailor/keyword";
import { mulberry32 } from "@tailor/models/random";
import { type ChunkPayload, EmbeddedVectorStore } from "../../libs/vector/src/index.js";
import { rpcSearchBench } from "./search-rpc.js";

/** Sizes of one benchmark run; the defaults are the published configuration. */
export interface SearchBenchOptions {
  vectors?: number;
  dim?: number;
  queries?: number;
  keywordDocs?: number;
  datasets?: ("uniform" | "clustered")[];
}

type Emit = (metric: string, value: number, unit: string) => void;

const emit: Emit = (metric, value, unit) => {
  console.log(JSON.stringify({ bench: "search", metric, value: Number(value.toFixed(4)), unit }));
};

/** Deterministic PRNG (mulberry32) plus a Box-Muller normal sampler. */
function prng(seed: number): { uniform(): number; normal(): number } {
  const uniform = mulberry32(seed);
  const normal = (): number =>
    Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  const inv = 1 / Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * inv;
  return v;
}

/**
 * Uniform: isotropic Gaussian directions (uniform on the sphere, the hardest case for ANN).
 * Clustered: a mixture of 200 Gaussians around random centres, closer to real embeddings.
 */
function sampler(kind: "uniform" | "clustered", dim: number, seed: number): () => Float32Array {
  const r = prng(seed);
  const centres = Array.from({ length: 200 }, () =>
    Float32Array.from({ length: dim }, () => r.normal()),
  );
  return () => {
    const v = new Float32Array(dim);
    const c = kind === "clustered" ? centres[Math.floor(r.uniform() * centres.length)]! : null;
    for (let i = 0; i < dim; i++) v[i] = (c ? c[i]! : 0) + r.normal() * (c ? 0.6 : 1);
    return unit(v);
  };
}

function payload(i: number): ChunkPayload {
  return {
    tenant: "bench",
    source: i % 10 === 0 ? "wiki" : "drive",
    documentId: `d${i >> 3}`,
    title: `doc ${i >> 3}`,
    text: "",
    index: i & 7,
    metadata: { bucket: String(i % 4) },
    revision: 1,
    modelVersion: "bench",
  };
}

/** Runs `total` calls with `concurrency` async callers in flight; JS runs them on one thread. */
async function measure(
  total: number,
  concurrency: number,
  call: (i: number) => Promise<unknown>,
): Promise<{ p50: number; p99: number; qps: number }> {
  const lat: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const t = performance.now();
        await call(i);
        lat.push(performance.now() - t);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), qps: total / secs };
}

async function vectorBench(
  kind: "uniform" | "clustered",
  o: Required<SearchBenchOptions>,
): Promise<void> {
  const sfx = kind === "uniform" ? "" : "_clustered";
  const dir = mkdtempSync(join(tmpdir(), "tailor-bench-"));
  try {
    const store = new EmbeddedVectorStore({ dir });
    await store.open();
    const sample = sampler(kind, o.dim, 42);
    const t0 = performance.now();
    const batch = 1000;
    for (let i = 0; i < o.vectors; i += batch) {
      const records = [];
      for (let j = i; j < Math.min(o.vectors, i + batch); j++) {
        records.push({ id: `c${j}`, vector: sample(), payload: payload(j) });
      }
      await store.upsert("bench", "m", records);
    }
    await store.flush();
    emit(`build_seconds${sfx}`, (performance.now() - t0) / 1000, "s");
    const queries = Array.from({ length: o.queries }, () => sample());

    let found = 0;
    let filteredFound = 0;
    const exactLat: number[] = [];
    for (const q of queries) {
      const t = performance.now();
      const truth = new Set((await store.searchExact("bench", "m", q, 10)).map((h) => h.id));
      exactLat.push(performance.now() - t);
      for (const h of await store.search("bench", "m", q, 10)) if (truth.has(h.id)) found++;
    }
    // A filter keeping 25% of the partition: too many to brute force, so HNSW with the filter applied.
    const filter = { metadata: { bucket: "1" } };
    for (const q of queries.slice(0, 100)) {
      const truth = new Set(
        (await store.searchExact("bench", "m", q, 10, filter)).map((h) => h.id),
      );
      for (const h of await store.search("bench", "m", q, 10, filter))
        if (truth.has(h.id)) filteredFound++;
    }
    emit(`recall_at_10${sfx}`, found / (queries.length * 10), "ratio");
    emit(
      `recall_at_10_filtered25${sfx}`,
      filteredFound / (Math.min(100, queries.length) * 10),
      "ratio",
    );
    exactLat.sort((a, b) => a - b);
    emit(`exact_p50_ms${sfx}`, percentile(exactLat, 50), "ms");

    const search = (i: number) => store.search("bench", "m", queries[i % queries.length]!, 10);
    for (const c of [1, 8]) {
      const r = await measure(o.queries, c, search);
      emit(`p50_ms_c${c}${sfx}`, r.p50, "ms");
      emit(`p99_ms_c${c}${sfx}`, r.p99, "ms");
      emit(`qps_c${c}${sfx}`, r.qps, "qps");
    }

    const tc = performance.now();
    await store.close();
    emit(`snapshot_seconds${sfx}`, (performance.now() - tc) / 1000, "s");
    const to = performance.now();
    const reopened = new EmbeddedVectorStore({ dir });
    await reopened.open();
    emit(`reopen_seconds${sfx}`, (performance.now() - to) / 1000, "s");
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function keywordBench(o: Required<SearchBenchOptions>): Promise<void> {
  const r = prng(7);
  const vocab = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}x`);
  // Zipf-like word choice: frequent words dominate, as in real text.
  const word = (): string => vocab[Math.floor(vocab.length ** r.uniform()) - 1]!;
  const index = new KeywordIndex();
  const t0 = performance.now();
  for (let i = 0; i < o.keywordDocs; i++) {
    const text = Array.from({ length: 60 }, word).join(" ");
    index.add("bench", `c${i}`, { title: word(), text, source: "s", metadata: {} });
  }
  emit("keyword_build_seconds", (performance.now() - t0) / 1000, "s");
  const queries = Array.from({ length: o.queries }, () => `${word()} ${word()} ${word()}`);
  const plain = await measure(o.queries, 1, async (i) => index.search("bench", queries[i]!, 10));
  emit("keyword_p50_ms", plain.p50, "ms");
  emit("keyword_p99_ms", plain.p99, "ms");
  const rm3 = await measure(Math.min(200, o.queries), 1, async (i) =>
    index.searchRm3("bench", queries[i]!, 10),
  );
  emit("keyword_rm3_p50_ms", rm3.p50, "ms");
  emit("keyword_rm3_p99_ms", rm3.p99, "ms");
}

/** Builds the indexes, prints one JSON line per figure. */
export async function main(options: SearchBenchOptions = {}): Promise<void> {
  const o: Required<SearchBenchOptions> = {
    vectors: 100_000,
    dim: 100,
    queries: 500,
    keywordDocs: 100_000,
    datasets: ["uniform", "clustered"],
    ...options,
  };
  for (const kind of o.datasets) await vectorBench(kind, o);
  if (o.keywordDocs > 0) await keywordBench(o);
  // The same through RetrievalService with real text and real GloVe vectors.
  await rpcSearchBench(o.vectors);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const n = Number(process.env["BENCH_VECTORS"] ?? 100_000);
  await main({ vectors: n, keywordDocs: Number(process.env["BENCH_KEYWORD_DOCS"] ?? 100_000) });
}
