import { join } from "node:path";
import { publishDataEvent } from "@tailor/bus";
import { loadCisi, percentile } from "@tailor/eval";
import { buildGloveModel } from "@tailor/models";
import { SearchMode } from "@tailor/proto";
import { ROOT, startHarness, waitFor } from "@tailor/testing";
import { OnnxEmbedder } from "../../services/model-server/src/runtime/embedder.js";
import { measureRawEmbedder } from "./embedder-raw.js";

/**
 * 20,000 documents through the real pipeline: docs/s and chunks/s from the first publish to the
 * last document searchable; publish→searchable latency of single documents on a loaded stack;
 * the raw embedder on the same chunk texts in the same run, and the ratio.
 */
const emit = (metric: string, value: number, unit: string) =>
  console.log(JSON.stringify({ bench: "ingest", metric, value: Number(value.toFixed(4)), unit }));

const DOCS = Number(process.env["BENCH_INGEST_DOCS"] ?? 20_000);
const LATENCY_SAMPLES = 100;

export async function main(): Promise<void> {
  const cisi = loadCisi();
  // Realistic text: CISI abstracts, cycled, each copy with its own id and marker word.
  const docs = Array.from({ length: DOCS }, (_, i) => {
    const src = cisi.docs[i % cisi.docs.length]!;
    return { id: `d${i}`, title: src.title, text: `${src.text} Marker zqing${i}x.` };
  });
  const h = await startHarness("ingest");
  let pipelineDocsPerS = 0;
  try {
    const t0 = performance.now();
    const window = new Set<Promise<unknown>>();
    for (const d of docs) {
      if (window.size >= 512) await Promise.race(window);
      const p = publishDataEvent(h.bus, "bench", "corpus", "upsert", d).finally(() =>
        window.delete(p),
      );
      window.add(p);
    }
    await Promise.all(window);
    const published = performance.now();
    emit("publish_docs_per_s", DOCS / ((published - t0) / 1000), "docs/s");
    await waitFor(
      async () => Number((await h.retrieval.stats({ tenant: "bench" })).documents) === DOCS,
      {
        timeoutMs: 1_800_000,
        intervalMs: 250,
        what: "all documents searchable",
      },
    );
    const done = performance.now();
    const seconds = (done - t0) / 1000;
    const chunks = Number((await h.retrieval.stats({ tenant: "bench" })).chunks);
    emit("docs_per_s", DOCS / seconds, "docs/s");
    emit("chunks_per_s", chunks / seconds, "chunks/s");
    emit("chunks", chunks, "chunks");

    // Latency of one document at a time, publish → found by a keyword search on its marker.
    const lat: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const src = cisi.docs[i]!;
      const marker = `zqlat${i}y`;
      const s = performance.now();
      await publishDataEvent(h.bus, "bench", "latency", "upsert", {
        id: `l${i}`,
        title: src.title,
        text: `${src.text} ${marker}`,
      });
      await waitFor(
        async () =>
          (
            await h.retrieval.search({
              tenant: "bench",
              query: marker,
              k: 1,
              mode: SearchMode.KEYWORD,
            })
          ).hits.length === 1,
        {
          timeoutMs: 60_000,
          intervalMs: 2,
          what: `latency doc ${i}`,
        },
      );
      lat.push(performance.now() - s);
    }
    emit("publish_to_searchable_p50_ms", percentile(lat, 50), "ms");
    emit("publish_to_searchable_p95_ms", percentile(lat, 95), "ms");
    pipelineDocsPerS = DOCS / seconds;
  } finally {
    await h.close();
  }

  // The raw limit: the same embedder on the same chunk texts, in-process, no bus or RPC.
  const files = await buildGloveModel({
    outDir: process.env["TAILOR_TEST_MODEL_DIR"] ?? join(ROOT, ".tailor/models"),
  });
  const embedder = await OnnxEmbedder.load(files.dir, { executionProvider: "cpu" });
  const texts = docs.slice(0, 10_000).map((d) => `${d.title}\n${d.text}`);
  const raw = await measureRawEmbedder(embedder, texts, { batchSize: 256 });
  await embedder.close();
  emit("raw_embedder_docs_per_s", raw.sentencesPerSecond, "docs/s");
  // Both figures count whole documents; the pipeline embeds each chunk with its title, so it
  // does somewhat more model work per document than the raw run.
  emit("pipeline_vs_raw_embedder_ratio", pipelineDocsPerS / raw.sentencesPerSecond, "ratio");
}

await main();
