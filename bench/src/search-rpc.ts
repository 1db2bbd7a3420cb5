import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Stack } from "@tailor/deploy-local";
import { loadCisi, percentile } from "@tailor/eval";
import { buildGloveModel } from "@tailor/models";
import { mulberry32 } from "@tailor/models/random";
import { RetrievalService, SearchMode } from "@tailor/proto";
import { freePort, ROOT, testNatsUrl, uniquePrefix, withTestBusPrefix } from "@tailor/testing";
import { EmbeddedVectorStore, type VectorRecord } from "@tailor/vector";
import { OnnxEmbedder } from "../../services/model-server/src/runtime/embedder.js";

/**
 * RetrievalService.Search at 100,000 chunks of real text with real GloVe vectors: ANN recall@10
 * against exact search on those vectors, and p50/p99/QPS through the RPC at concurrency 1 and 8
 * for each mode.
 */
const emit = (metric: string, value: number, unit: string) =>
  console.log(JSON.stringify({ bench: "search", metric, value: Number(value.toFixed(4)), unit }));

/** Builds the on-disk index of `chunks` real-text chunks in `indexDir`; returns the queries. Kept in
 * its own function so the corpus is garbage before latency is measured. */
async function buildIndex(indexDir: string, chunks: number, queries: number): Promise<string[]> {
  const cisi = loadCisi();
  const rand = mulberry32(11);
  const sentences = cisi.docs.flatMap((d) =>
    d.text.split(/(?<=[.?!])\s+/).filter((s) => s.length > 20),
  );
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)]!;
  const texts = Array.from({ length: chunks }, () =>
    Array.from({ length: 3 + Math.floor(rand() * 4) }, () => pick(sentences)).join(" "),
  );
  const queryWords = cisi.queries.flatMap((q) => q.text.toLowerCase().match(/[a-z]{4,}/g) ?? []);
  const qs = Array.from({ length: queries }, () =>
    Array.from({ length: 3 + Math.floor(rand() * 4) }, () => pick(queryWords)).join(" "),
  );

  const files = await buildGloveModel({
    outDir: process.env["TAILOR_TEST_MODEL_DIR"] ?? join(ROOT, ".tailor/models"),
  });
  const embedder = await OnnxEmbedder.load(files.dir, { executionProvider: "cpu" });
  const vecs = new Float32Array(chunks * embedder.dimensions);
  for (let i = 0; i < chunks; i += 1024)
    vecs.set((await embedder.embed(texts.slice(i, i + 1024))).vectors, i * embedder.dimensions);
  const qv = (await embedder.embed(qs)).vectors;
  const dims = embedder.dimensions;
  // Index versions are named by the exact embedder: retrieval serves `name@version`.
  const version = `${embedder.name}@${embedder.version}`;
  await embedder.close();

  const store = new EmbeddedVectorStore({ dir: join(indexDir, "vectors") });
  await store.open();
  const t0 = performance.now();
  for (let i = 0; i < chunks; i += 2000) {
    const recs: VectorRecord[] = [];
    for (let j = i; j < Math.min(chunks, i + 2000); j++) {
      recs.push({
        id: `c${j}`,
        vector: vecs.subarray(j * dims, (j + 1) * dims),
        payload: {
          tenant: "bench",
          source: "corpus",
          documentId: `d${j}`,
          title: "",
          text: texts[j]!,
          index: 0,
          metadata: {},
          revision: 1,
          modelVersion: version,
        },
      });
    }
    await store.upsert("bench", version, recs);
  }
  emit("rpc_corpus_build_seconds", (performance.now() - t0) / 1000, "s");
  // Strict recall compares id sets; chunks made of shared sentences tie often, so also report
  // recall as ann-benchmarks counts it: a hit is right when its similarity is within 1e-3 of
  // the exact 10th best.
  let found = 0;
  let withinEps = 0;
  for (let q = 0; q < queries; q++) {
    const v = qv.subarray(q * dims, (q + 1) * dims);
    const exactHits = await store.searchExact("bench", version, v, 10);
    const exact = new Set(exactHits.map((h) => h.id));
    const kth = exactHits[exactHits.length - 1]?.score ?? 0;
    for (const h of await store.search("bench", version, v, 10)) {
      if (exact.has(h.id)) found++;
      if (h.score >= kth - 1e-3) withinEps++;
    }
  }
  emit("recall_at_10_real_vectors", found / (queries * 10), "ratio");
  emit("recall_at_10_real_vectors_eps_1e-3", withinEps / (queries * 10), "ratio");
  await store.close();
  writeFileSync(join(indexDir, "state.json"), JSON.stringify({ layout: 2, indexId: "bench" }));
  return qs;
}

export async function rpcSearchBench(chunks = 100_000, queries = 500): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tailor-search-bench-"));
  const prefix = uniquePrefix("srch");
  const indexDir = join(dir, "retrieval");
  try {
    const qs = await buildIndex(indexDir, chunks, queries);
    // The corpus is garbage now; collect it so this client's GC does not sit in the latencies.
    (globalThis as { gc?: () => void }).gc?.();
    const stack = new Stack({
      root: ROOT,
      logs: false,
      ports: { "model-server": await freePort(), retrieval: await freePort() },
      env: {
        ...process.env,
        TAILOR_NATS_URL: testNatsUrl(),
        TAILOR_BUS_PREFIX: prefix,
        TAILOR_DATA_DIR: dir,
        TAILOR_RETRIEVAL_INDEX_DIR: indexDir,
        TAILOR_MODEL_SERVER_MODEL_DIR:
          process.env["TAILOR_TEST_MODEL_DIR"] ?? join(ROOT, ".tailor/models"),
        TAILOR_LOG_LEVEL: "warn",
      },
    });
    stack.startAll(["model-server", "retrieval"]);
    try {
      await stack.waitHealthy(300_000);
      const client = createClient(
        RetrievalService,
        createGrpcTransport({ baseUrl: stack.url("retrieval") }),
      );
      const stats = await client.stats({ tenant: "bench" });
      emit("rpc_indexed_chunks", Number(stats.chunks), "chunks");
      // The floor: a trivial RPC (Stats) on the same server, same client.
      const floor: number[] = [];
      for (let i = 0; i < 300; i++) {
        const t = performance.now();
        await client.stats({ tenant: "bench" });
        floor.push(performance.now() - t);
      }
      emit("rpc_stats_p50_ms_c1", percentile(floor.slice(50), 50), "ms");
      emit("rpc_stats_p99_ms_c1", percentile(floor.slice(50), 99), "ms");
      const modes = [
        ["dense", SearchMode.DENSE],
        ["keyword", SearchMode.KEYWORD],
        ["hybrid", SearchMode.HYBRID],
      ] as const;
      for (const [name, mode] of modes.filter(
        ([n]) =>
          !process.env["BENCH_SEARCH_MODES"] ||
          process.env["BENCH_SEARCH_MODES"].split(",").includes(n),
      )) {
        for (const c of [1, 8]) {
          for (const q of qs.slice(0, 20))
            await client.search({ tenant: "bench", query: q, k: 10, mode });
          const lat: number[] = [];
          let next = 0;
          const s = performance.now();
          await Promise.all(
            Array.from({ length: c }, async () => {
              while (next < qs.length) {
                const q = qs[next++]!;
                const t = performance.now();
                await client.search({ tenant: "bench", query: q, k: 10, mode });
                lat.push(performance.now() - t);
              }
            }),
          );
          const secs = (performance.now() - s) / 1000;
          emit(`rpc_${name}_p50_ms_c${c}`, percentile(lat, 50), "ms");
          emit(`rpc_${name}_p99_ms_c${c}`, percentile(lat, 99), "ms");
          emit(`rpc_${name}_qps_c${c}`, qs.length / secs, "qps");
        }
      }
    } finally {
      await stack.stop();
    }
  } finally {
    await (await withTestBusPrefix(prefix)).cleanup().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
