import { describe, expect, it } from "vitest";
import {
  binaryQrels,
  evaluate,
  parseTrecRun,
  type Qrels,
  type Run,
  sortLikeTrecEval,
  writeTrecRun,
} from "./trec-eval.js";

const docs = (...pairs: [string, number][]) => pairs.map(([docId, score]) => ({ docId, score }));

// Hand-computed fixture:
// q1: ranking d1(R) d2 d3(R) d4 d5, relevant {d1, d3, d6}
//   AP = (1/1 + 2/3) / 3 = 5/9; P@10 = 2/10; R@100 = 2/3; RR = 1
//   DCG@10 = 1 + 1/log2(4) = 1.5; IDCG@10 = 1 + 1/log2(3) + 1/log2(4)
// q2: ranking a x(R), relevant {x}
//   AP = 1/2; P@10 = 1/10; R@100 = 1; RR = 1/2; nDCG@10 = (1/log2 3) / 1
// q3: in qrels, absent from run. q4: in run, absent from qrels (ignored).
const run: Run = new Map([
  ["q1", docs(["d5", 0.1], ["d2", 2], ["d1", 3], ["d4", 0.5], ["d3", 1])],
  ["q2", docs(["a", 9], ["x", 4])],
  ["q4", docs(["z", 1])],
]);
const qrels: Qrels = binaryQrels(
  new Map([
    ["q1", new Set(["d1", "d3", "d6"])],
    ["q2", new Set(["x"])],
    ["q3", new Set(["y"])],
  ]),
);

const q1 = {
  map: 5 / 9,
  P_10: 0.2,
  recall_100: 2 / 3,
  recip_rank: 1,
  ndcg_cut_10: 1.5 / (1 + 1 / Math.log2(3) + 0.5),
};
const q2 = { map: 0.5, P_10: 0.1, recall_100: 1, recip_rank: 0.5, ndcg_cut_10: 1 / Math.log2(3) };

describe("evaluate", () => {
  it("matches hand-computed per-query values", () => {
    const res = evaluate(run, qrels);
    for (const [qid, want] of [
      ["q1", q1],
      ["q2", q2],
    ] as const) {
      const got = res.perQuery.get(qid)!;
      for (const [m, v] of Object.entries(want)) {
        expect(got[m as keyof typeof want], `${qid} ${m}`).toBeCloseTo(v, 12);
      }
    }
    expect(res.perQuery.get("q1")).toMatchObject({ num_ret: 5, num_rel: 3, num_rel_ret: 2 });
    expect(res.perQuery.has("q4")).toBe(false);
  });

  it("prints what trec_eval -q prints for the fixture (4 decimals)", () => {
    // Literals, not formulas: each was worked out by hand from the definitions above and
    // rounded as trec_eval prints it, so a shared mistake in the formulas cannot hide here.
    const printed = {
      q1: { map: 0.5556, P_10: 0.2, recall_100: 0.6667, recip_rank: 1, ndcg_cut_10: 0.7039 },
      q2: { map: 0.5, P_10: 0.1, recall_100: 1, recip_rank: 0.5, ndcg_cut_10: 0.6309 },
    } as const;
    const res = evaluate(run, qrels);
    for (const [qid, want] of Object.entries(printed)) {
      const got = res.perQuery.get(qid)!;
      for (const [m, v] of Object.entries(want)) {
        expect(got[m as keyof typeof want].toFixed(4), `${qid} ${m}`).toBe(v.toFixed(4));
      }
    }
  });

  it("averages over all qrels queries by default (trec_eval -c)", () => {
    const res = evaluate(run, qrels);
    expect(res.numQueries).toBe(3);
    expect(res.perQuery.get("q3")).toMatchObject({ map: 0, P_10: 0, num_rel: 1, num_ret: 0 });
    expect(res.mean.map).toBeCloseTo((5 / 9 + 0.5) / 3, 12);
    expect(res.mean.recall_100).toBeCloseTo((2 / 3 + 1) / 3, 12);
  });

  it("averages only over queries in both run and qrels without -c", () => {
    const res = evaluate(run, qrels, { completeQueries: false });
    expect(res.numQueries).toBe(2);
    expect(res.perQuery.has("q3")).toBe(false);
    expect(res.mean.map).toBeCloseTo((5 / 9 + 0.5) / 2, 12);
    expect(res.mean.P_10).toBeCloseTo(0.15, 12);
    expect(res.mean.ndcg_cut_10).toBeCloseTo((q1.ndcg_cut_10 + q2.ndcg_cut_10) / 2, 12);
  });

  it("applies the cutoffs of P_10, ndcg_cut_10 and recall_100", () => {
    // 120 docs, relevant at ranks 1, 11 and 101; 4 relevant in total.
    const ranked = Array.from({ length: 120 }, (_, i) => ({
      docId: `d${String(i + 1).padStart(3, "0")}`,
      score: 1000 - i,
    }));
    const rel = new Set(["d001", "d011", "d101", "missing"]);
    const got = evaluate(new Map([["q", ranked]]), binaryQrels(new Map([["q", rel]]))).perQuery.get(
      "q",
    )!;
    expect(got.P_10).toBeCloseTo(0.1, 12);
    expect(got.recall_100).toBeCloseTo(2 / 4, 12);
    expect(got.map).toBeCloseTo((1 + 2 / 11 + 3 / 101) / 4, 12);
    const idcg = 1 + 1 / Math.log2(3) + 1 / Math.log2(4) + 1 / Math.log2(5);
    expect(got.ndcg_cut_10).toBeCloseTo(1 / idcg, 12);
    const capped = evaluate(new Map([["q", ranked]]), binaryQrels(new Map([["q", rel]])), {
      maxDocsPerQuery: 50,
    }).perQuery.get("q")!;
    expect(capped.num_ret).toBe(50);
    expect(capped.map).toBeCloseTo((1 + 2 / 11) / 4, 12);
  });

  it("scores a perfect ranking as 1 everywhere", () => {
    const got = evaluate(
      new Map([["q", docs(["a", 3], ["b", 2])]]),
      binaryQrels(new Map([["q", new Set(["a", "b"])]])),
    ).perQuery.get("q")!;
    expect(got).toMatchObject({ map: 1, ndcg_cut_10: 1, recall_100: 1, recip_rank: 1, P_10: 0.2 });
  });

  it("rejects duplicate docids within a query, like trec_eval", () => {
    expect(() =>
      evaluate(
        new Map([["q", docs(["a", 1], ["a", 2])]]),
        binaryQrels(new Map([["q", new Set(["a"])]])),
      ),
    ).toThrow(/duplicate/);
  });
});

describe("graded judgments and cut measures", () => {
  // Ranking g1 g2 g3 g4 (scores 4..1). Grades: g1 → 0, g2 → 2, g4 → 1, g5 → 3 (unretrieved),
  // g6 → -1. Relevant (grade ≥ 1): g2, g4, g5, so num_rel = 3.
  //   DCG@10  = 2/log2(3) + 1/log2(5) = 1.26186 + 0.43068 = 1.69254
  //   IDCG@10 = 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 1.26186 + 0.5 = 4.76186
  //   nDCG@10 = 0.35544; AP = (1/2 + 2/4) / 3 = 1/3; RR = MRR@10 = 1/2; recall_10 = 2/3
  const graded: Qrels = new Map([
    [
      "q",
      new Map([
        ["g1", 0],
        ["g2", 2],
        ["g4", 1],
        ["g5", 3],
        ["g6", -1],
      ]),
    ],
  ]);
  const ranking = new Map([["q", docs(["g1", 4], ["g2", 3], ["g3", 2], ["g4", 1])]]);

  it("uses grades as gains for nDCG and grade ≥ 1 as relevant elsewhere", () => {
    const got = evaluate(ranking, graded).perQuery.get("q")!;
    expect(got.ndcg_cut_10.toFixed(4)).toBe("0.3554");
    expect(got.map).toBeCloseTo(1 / 3, 12);
    expect(got.recip_rank).toBe(0.5);
    expect(got.mrr_10).toBe(0.5);
    expect(got.recall_10).toBeCloseTo(2 / 3, 12);
    expect(got).toMatchObject({ num_rel: 3, num_rel_ret: 2, num_ret: 4 });
  });

  it("cuts MRR at 10 and recall at 10, 100 and 1000", () => {
    const ranked = Array.from({ length: 1200 }, (_, i) => ({ docId: `d${i + 1}`, score: -i }));
    const judged = new Map(["d11", "d150", "d1100", "d9999"].map((d) => [d, 1]));
    const got = evaluate(new Map([["q", ranked]]), new Map([["q", judged]])).perQuery.get("q")!;
    expect(got.recip_rank).toBeCloseTo(1 / 11, 12);
    expect(got.mrr_10).toBe(0);
    expect(got.recall_10).toBe(0);
    expect(got.recall_100).toBeCloseTo(1 / 4, 12);
    expect(got.recall_1000).toBeCloseTo(2 / 4, 12);
  });

  it("scores a query whose judgments are all non-relevant as 0", () => {
    const none = new Map([["q", new Map([["g1", 0]])]]);
    const got = evaluate(ranking, none).perQuery.get("q")!;
    expect(got).toMatchObject({ map: 0, ndcg_cut_10: 0, recall_100: 0, num_rel: 0 });
  });
});

describe("tie-breaking", () => {
  it("orders equal scores by docno descending (strcmp)", () => {
    const ranked = sortLikeTrecEval(
      docs(["a", 1], ["c", 1], ["b", 1], ["z", 2], ["10", 1], ["9", 1]),
    );
    expect(ranked.map((d) => d.docId)).toEqual(["z", "c", "b", "a", "9", "10"]);
  });

  it("changes metrics exactly as trec_eval would", () => {
    const tied = new Map([["q", docs(["a", 1], ["b", 1], ["c", 1])]]);
    const rr = (rel: string) =>
      evaluate(tied, binaryQrels(new Map([["q", new Set([rel])]]))).perQuery.get("q")!.recip_rank;
    expect(rr("c")).toBe(1);
    expect(rr("b")).toBe(1 / 2);
    expect(rr("a")).toBe(1 / 3);
  });

  it("ignores input order and the caller's array", () => {
    const input = docs(["a", 1], ["b", 2]);
    sortLikeTrecEval(input);
    expect(input.map((d) => d.docId)).toEqual(["a", "b"]);
  });

  it("can compare at float32 precision like older trec_eval releases", () => {
    // Distinct doubles that round to the same float32 tie, so docno order decides.
    const close = docs(["a", 1 + 1e-12], ["b", 1]);
    expect(sortLikeTrecEval(close).map((d) => d.docId)).toEqual(["a", "b"]);
    expect(sortLikeTrecEval(close, "float32").map((d) => d.docId)).toEqual(["b", "a"]);
  });
});

describe("run files", () => {
  it("writes trec_eval-ordered lines and parses them back", () => {
    const text = writeTrecRun(
      new Map([
        ["10", docs(["x", 0.5])],
        ["2", docs(["a", 1], ["c", 1], ["b", 0.25])],
      ]),
      "bm25",
    );
    expect(text).toBe("2 Q0 c 1 1 bm25\n2 Q0 a 2 1 bm25\n2 Q0 b 3 0.25 bm25\n10 Q0 x 1 0.5 bm25\n");
    const back = parseTrecRun(text);
    expect([...back.keys()]).toEqual(["2", "10"]);
    expect(back.get("2")).toEqual(docs(["c", 1], ["a", 1], ["b", 0.25]));
  });

  it("round-trips scores exactly", () => {
    const scores = [0.1 + 0.2, 1e-9, -3.5, 123456.789012345];
    const original: Run = new Map([["q", scores.map((score, i) => ({ docId: `d${i}`, score }))]]);
    const back = parseTrecRun(writeTrecRun(original, "t"));
    expect(evaluate(back, binaryQrels(new Map([["q", new Set(["d1"])]])))).toEqual(
      evaluate(original, binaryQrels(new Map([["q", new Set(["d1"])]]))),
    );
    expect(new Set(back.get("q")!.map((d) => d.score))).toEqual(new Set(scores));
  });

  it("ignores blank lines and rejects malformed ones", () => {
    expect(parseTrecRun("\n1 Q0 d 1 2.5 t\n\n").get("1")).toEqual(docs(["d", 2.5]));
    expect(() => parseTrecRun("1 Q0 d 1 2.5")).toThrow(/6 fields/);
    expect(() => parseTrecRun("1 Q0 d 1 abc t")).toThrow(/bad score/);
    expect(() => writeTrecRun(new Map(), "has space")).toThrow();
    expect(writeTrecRun(new Map(), "t")).toBe("");
  });
});
