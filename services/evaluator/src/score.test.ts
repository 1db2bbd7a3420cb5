import type { EvalSet } from "@tailor/eval";
import { describe, expect, it } from "vitest";
import { documentRanking, type SearchFn, scoreEvalSet } from "./score.js";

const set: EvalSet = {
  queries: [
    { id: "1", text: "alpha" },
    { id: "2", text: "beta" },
    { id: "3", text: "unjudged" },
  ],
  qrels: new Map([
    ["1", new Map([["d1", 1]])],
    [
      "2",
      new Map([
        ["d2", 2],
        ["d3", 1],
      ]),
    ],
  ]),
};

/** Fixed rankings by query text: the scorer must not need a live retrieval. */
function fixed(rankings: Record<string, string[]>, version = "retrieval@v1"): SearchFn {
  return async (q) => ({ documentIds: rankings[q.text] ?? [], version, latencyMs: q.text.length });
}

describe("documentRanking", () => {
  it("keeps each document at its best chunk's rank, with scores that keep the order", () => {
    const docs = documentRanking(["b", "a", "b", "c", "a"]);
    expect(docs.map((d) => d.docId)).toEqual(["b", "a", "c"]);
    expect(docs.map((d) => d.score)).toEqual([3, 2, 1]);
  });
});

describe("scoreEvalSet", () => {
  it("scores judged queries with trec_eval semantics and records latency and version", async () => {
    const searched: string[] = [];
    const search: SearchFn = async (q, s) => {
      searched.push(q.id);
      return fixed({ alpha: ["d9", "d1"], beta: ["d3", "d3", "d2"] })(q, s);
    };
    const r = await scoreEvalSet(set, search, { concurrency: 2 });
    // The unjudged query is not searched: trec_eval would not average it.
    expect(searched.sort()).toEqual(["1", "2"]);
    const q1 = r.result.perQuery.get("1")!;
    expect(q1.recip_rank).toBeCloseTo(0.5);
    expect(q1.map).toBeCloseTo(0.5);
    const q2 = r.result.perQuery.get("2")!;
    // d3 (grade 1) at rank 1, d2 (grade 2) at rank 2; the ideal puts d2 first.
    const dcg = 1 / Math.log2(2) + 2 / Math.log2(3);
    const idcg = 2 / Math.log2(2) + 1 / Math.log2(3);
    expect(q2.ndcg_cut_10).toBeCloseTo(dcg / idcg, 10);
    expect(q2.P_10).toBeCloseTo(0.2);
    expect(r.result.numQueries).toBe(2);
    expect(r.result.mean.recip_rank).toBeCloseTo(0.75);
    expect(r.latencyMs.sort()).toEqual([4, 5]);
    expect([...r.versions]).toEqual(["retrieval@v1"]);
  });

  it("scores a query whose search found nothing as 0, not as missing", async () => {
    const r = await scoreEvalSet(set, fixed({ alpha: ["d1"] }), { concurrency: 4 });
    expect(r.result.perQuery.get("2")!.ndcg_cut_10).toBe(0);
    expect(r.result.mean.recip_rank).toBeCloseTo(0.5);
  });

  it("keeps at most `concurrency` searches in flight and stops at the first error", async () => {
    const many: EvalSet = {
      queries: Array.from({ length: 20 }, (_, i) => ({ id: String(i), text: `q${i}` })),
      qrels: new Map(Array.from({ length: 20 }, (_, i) => [String(i), new Map([["d", 1]])])),
    };
    let inFlight = 0;
    let peak = 0;
    const slow: SearchFn = async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { documentIds: ["d"], version: "v", latencyMs: 1 };
    };
    await scoreEvalSet(many, slow, { concurrency: 3 });
    expect(peak).toBe(3);
    let calls = 0;
    const failing: SearchFn = async () => {
      calls++;
      throw new Error("retrieval down");
    };
    await expect(scoreEvalSet(many, failing, { concurrency: 2 })).rejects.toThrow("retrieval down");
    expect(calls).toBeLessThanOrEqual(2);
  });
});
