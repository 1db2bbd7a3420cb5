import { describe, expect, it } from "vitest";
import { loadCisi } from "./cisi.js";
import {
  compareSystems,
  evaluate,
  judgedQueries,
  parseTrecRun,
  type Run,
  splitEvalSet,
  trecEvalSet,
  writeTrecRun,
} from "./index.js";

// The real CISI files, turned into the two files `tailor evalset import` reads.
const cisi = loadCisi();
const topicsText = cisi.queries.map((q) => `${q.id}\t${q.text.replace(/\s+/g, " ")}`).join("\n");
const qrelsText = [...cisi.qrels]
  .flatMap(([qid, docs]) => [...docs].map((d) => `${qid} 0 ${d} 1`))
  .join("\n");
const { set, droppedQrelsQueries } = trecEvalSet(
  { text: topicsText, file: "cisi.topics" },
  { text: qrelsText, file: "cisi.qrels" },
);
const { train, heldOut } = splitEvalSet(set, { method: "parity" });

// A deterministic tf-idf scorer, so the run below is fixed.
const tokens = (s: string) => (s.toLowerCase().match(/[a-z]{3,}/g) ?? []) as string[];
const docTf = cisi.docs.map((d) => {
  const tf = new Map<string, number>();
  for (const t of tokens(`${d.title} ${d.text}`)) tf.set(t, (tf.get(t) ?? 0) + 1);
  return { id: d.id, tf };
});
const df = new Map<string, number>();
for (const d of docTf) for (const t of d.tf.keys()) df.set(t, (df.get(t) ?? 0) + 1);
function tfIdfRun(queries: { id: string; text: string }[]): Run {
  const run: Run = new Map();
  for (const q of queries) {
    const terms = [...new Set(tokens(q.text))];
    const scored = docTf.map((d) => ({
      docId: d.id,
      score: terms.reduce(
        (s, t) => s + Math.log1p(d.tf.get(t) ?? 0) * Math.log(docTf.length / (df.get(t) ?? 1)),
        0,
      ),
    }));
    run.set(
      q.id,
      scored.sort((a, b) => b.score - a.score || Number(a.docId) - Number(b.docId)).slice(0, 100),
    );
  }
  return run;
}

describe("eval sets from the real CISI files", () => {
  it("imports every topic, judges 76 and splits them odd = train, even = held-out", () => {
    expect(set.queries).toHaveLength(112);
    expect(droppedQrelsQueries).toEqual([]);
    expect(judgedQueries(set)).toHaveLength(76);
    expect(judgedQueries(train)).toHaveLength(39);
    expect(judgedQueries(heldOut)).toHaveLength(37);
    expect(train.queries.every((q) => Number(q.id) % 2 === 1)).toBe(true);
    expect(heldOut.queries.every((q) => Number(q.id) % 2 === 0)).toBe(true);
    expect(heldOut.qrels.get("2")?.size).toBe(26);
  });

  it("scores a hand-made run on query 2 as worked out by hand", () => {
    // Query 2 has 26 relevant docs; 29, 68 and 197 are relevant, 1 and 2 are not.
    // Ranking 29 1 68 2 197 → AP = (1/1 + 2/3 + 3/5) / 26 = 0.0872;
    // nDCG@10 = (1 + 1/log2 4 + 1/log2 6) / Σ_{r=1..10} 1/log2(r+1) = 1.8869 / 4.5436 = 0.4153;
    // MRR@10 = 1; P@10 = 0.3; recall@10 = recall@100 = 3/26 = 0.1154.
    const ids = ["29", "1", "68", "2", "197"];
    const run: Run = new Map([["2", ids.map((docId, i) => ({ docId, score: 5 - i }))]]);
    const q2 = evaluate(run, new Map([["2", heldOut.qrels.get("2")!]])).perQuery.get("2")!;
    const printed = {
      map: "0.0872",
      ndcg_cut_10: "0.4153",
      mrr_10: "1.0000",
      P_10: "0.3000",
      recall_10: "0.1154",
      recall_100: "0.1154",
    } as const;
    for (const [m, v] of Object.entries(printed)) {
      expect(q2[m as keyof typeof printed].toFixed(4), m).toBe(v);
    }
  });

  it("evaluates a fixed tf-idf run on the held-out queries consistently", () => {
    const run = tfIdfRun(judgedQueries(heldOut));
    const res = evaluate(run, heldOut.qrels);
    expect(res.numQueries).toBe(37);
    const values = [...res.perQuery.values()].map((q) => q.ndcg_cut_10);
    expect(res.mean.ndcg_cut_10).toBeCloseTo(values.reduce((s, x) => s + x, 0) / 37, 12);
    // A bag-of-words baseline on CISI lands well above zero and below the tuned prototypes.
    expect(res.mean.ndcg_cut_10).toBeGreaterThan(0.15);
    expect(res.mean.ndcg_cut_10).toBeLessThan(0.45);
    expect(res.mean.map).toBeGreaterThan(0.05);
    // Through a TREC run file and back: the same figures.
    expect(evaluate(parseTrecRun(writeTrecRun(run, "tfidf")), heldOut.qrels)).toEqual(res);
  });

  it("gives p = 1 for identical systems and a small p for one better on every query", () => {
    const tfidf = evaluate(tfIdfRun(judgedQueries(heldOut)), heldOut.qrels);
    const same = compareSystems(tfidf, tfidf, { seed: 5 });
    expect(same.metrics.every((m) => m.pValue === 1)).toBe(true);
    expect(same.verdict.pass).toBe(false);
    // Champion: one non-relevant doc, then the relevant docs; candidate: the relevant docs
    // first. The candidate's nDCG@10 is higher on every one of the 37 queries.
    const oracle = (offset: number): Run =>
      new Map(
        [...heldOut.qrels].map(([qid, judged]) => {
          const rel = [...judged.keys()].sort();
          const docs = offset ? [{ docId: "nonrelevant", score: 1000 }] : [];
          return [qid, [...docs, ...rel.map((docId, i) => ({ docId, score: 999 - i }))]];
        }),
      );
    const champion = evaluate(oracle(1), heldOut.qrels);
    const candidate = evaluate(oracle(0), heldOut.qrels);
    const perQueryGain = [...candidate.perQuery].map(
      ([q, m]) => m.ndcg_cut_10 - champion.perQuery.get(q)!.ndcg_cut_10,
    );
    expect(perQueryGain).toHaveLength(37);
    expect(perQueryGain.every((g) => g > 0)).toBe(true);
    const c = compareSystems(champion, candidate, { seed: 5 });
    const ndcg = c.metrics.find((m) => m.metric === "ndcg_cut_10")!;
    expect(ndcg.pValue).toBe(1 / 10_001);
    expect(c.verdict.pass).toBe(true);
  });
});
