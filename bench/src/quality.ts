import { publishDataEvent } from "@tailor/bus";
import { binaryQrels, evaluate, loadCisi, pairedPermutationTest, type Run } from "@tailor/eval";
import { SearchMode } from "@tailor/proto";
import { startHarness, waitFor } from "@tailor/testing";

/**
 * CISI through the real pipeline (NATS → ingestion → embedding → retrieval), then MAP, nDCG@10
 * and Recall@100 for keyword, dense and hybrid search over the 76 judged queries. Also reports
 * the even-id half ("test" queries: odd ids are the ones any tuning may look at).
 */
const emit = (metric: string, value: number, unit = "score") =>
  console.log(JSON.stringify({ bench: "quality", metric, value: Number(value.toFixed(4)), unit }));

export async function main(): Promise<void> {
  const cisi = loadCisi();
  const h = await startHarness("quality");
  try {
    const t0 = Date.now();
    const window = new Set<Promise<unknown>>();
    for (const d of cisi.docs) {
      if (window.size >= 128) await Promise.race(window);
      const p = publishDataEvent(h.bus, "cisi", "abstracts", "upsert", {
        id: d.id,
        title: d.title,
        text: d.text,
      }).finally(() => window.delete(p));
      window.add(p);
    }
    await Promise.all(window);
    await waitFor(
      async () =>
        Number((await h.retrieval.stats({ tenant: "cisi" })).documents) === cisi.docs.length,
      {
        timeoutMs: 600_000,
        what: "CISI searchable",
      },
    );
    emit("ingest_seconds", (Date.now() - t0) / 1000, "s");
    const judged = cisi.queries.filter((q) => cisi.qrels.has(q.id));
    const qrels = binaryQrels(cisi.qrels);
    const perMode = new Map<string, Map<string, number>>();
    for (const [name, mode] of [
      ["keyword", SearchMode.KEYWORD],
      ["dense", SearchMode.DENSE],
      ["hybrid", SearchMode.HYBRID],
    ] as const) {
      const run: Run = new Map();
      for (const q of judged) {
        const r = await h.retrieval.search({ tenant: "cisi", query: q.text, k: 1000, mode });
        const seen = new Set<string>();
        const docs = [];
        for (const hit of r.hits) {
          if (seen.has(hit.documentId)) continue;
          seen.add(hit.documentId);
          docs.push({ docId: hit.documentId, score: hit.score });
        }
        run.set(q.id, docs);
      }
      const all = evaluate(run, qrels);
      emit(`${name}_map`, all.mean.map);
      emit(`${name}_ndcg_at_10`, all.mean.ndcg_cut_10);
      emit(`${name}_recall_at_100`, all.mean.recall_100);
      const even = new Map([...qrels].filter(([qid]) => Number(qid) % 2 === 0));
      const test = evaluate(new Map([...run].filter(([qid]) => even.has(qid))), even);
      emit(`${name}_test_half_ndcg_at_10`, test.mean.ndcg_cut_10);
      emit(`${name}_test_half_map`, test.mean.map);
      perMode.set(name, new Map([...all.perQuery].map(([qid, m]) => [qid, m.ndcg_cut_10])));
    }
    const ids = [...perMode.get("keyword")!.keys()];
    const p = pairedPermutationTest(
      ids.map((i) => perMode.get("hybrid")!.get(i)!),
      ids.map((i) => perMode.get("keyword")!.get(i)!),
      { seed: 7 },
    );
    emit("hybrid_vs_keyword_ndcg_at_10_p_value", p, "p");
    emit("reference_lucene_bm25_map", 0.204);
    emit("reference_lucene_bm25_ndcg_at_10", 0.364);
    emit("reference_lucene_bm25_rm3_map", 0.245);
  } finally {
    await h.close();
  }
}

await main();
