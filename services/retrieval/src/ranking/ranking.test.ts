import { create } from "@bufbuild/protobuf";
import { LinearRerankerSchema } from "@tailor/proto";
import { describe, expect, it } from "vitest";
import { computeFeatures, FEATURE_NAMES } from "./features.js";
import { type LinearModel, linearModel, linearScore, rerank } from "./reranker.js";

const model = (o: Parameters<typeof create<typeof LinearRerankerSchema>>[1]): LinearModel => {
  const m = linearModel(create(LinearRerankerSchema, o));
  if (typeof m === "string") throw new Error(m);
  return m;
};

describe("LinearReranker", () => {
  const cands = [
    { id: "a", score: 0.9, f: { bm25: 1 } },
    { id: "b", score: 0.8, f: { bm25: 3 } },
    { id: "c", score: 0.7, f: { bm25: 2 } },
    { id: "d", score: 0.6, f: { bm25: 9 } },
  ];

  it("reorders the first depth candidates by standardised linear score; the rest keep fused order", () => {
    const m = model({ features: ["bm25"], weights: [1], mean: [2], std: [0.5], depth: 3 });
    expect(linearScore(m, { bm25: 3 })).toBe(2);
    expect(rerank(m, cands, (c) => c.f).map((c) => c.id)).toEqual(["b", "c", "a", "d"]);
    const all = model({ features: ["bm25"], weights: [1], mean: [0], std: [1], depth: 0 });
    expect(rerank(all, cands, (c) => c.f).map((c) => c.id)).toEqual(["d", "b", "c", "a"]);
  });

  it("breaks score ties by fused score, then id; a missing or constant feature counts 0", () => {
    const m = model({
      features: ["unknown", "bm25"],
      weights: [10, 1],
      mean: [0, 0],
      std: [1, 0],
      depth: 0,
    });
    const tied = [
      { id: "y", score: 0.5, f: { bm25: 1 } },
      { id: "x", score: 0.5, f: { bm25: 7 } },
      { id: "z", score: 0.6, f: { bm25: 2 } },
    ];
    expect(rerank(m, tied, (c) => c.f).map((c) => c.id)).toEqual(["z", "x", "y"]);
  });

  it("refuses a reranker it cannot apply, saying why", () => {
    const bad = (o: Parameters<typeof create<typeof LinearRerankerSchema>>[1]) =>
      linearModel(create(LinearRerankerSchema, o));
    expect(bad({ features: [] })).toMatch(/no features/);
    expect(bad({ features: ["a", "b"], weights: [1], mean: [0, 0], std: [1, 1] })).toMatch(
      /differ in length/,
    );
    expect(bad({ features: ["a"], weights: [Number.NaN], mean: [0], std: [1] })).toMatch(
      /weights\[0\]/,
    );
    expect(bad({ features: ["a"], weights: [1], mean: [0], std: [-1] })).toMatch(/std\[0\]/);
    expect(bad({ features: [""], weights: [1], mean: [0], std: [1] })).toMatch(/features\[0\]/);
    expect(bad({ features: ["a", "a"], weights: [1, 1], mean: [0, 0], std: [1, 1] })).toMatch(
      /repeats/,
    );
  });
});

describe("ranking features", () => {
  it("computes every named feature from what the sides found", () => {
    const [f, g] = computeFeatures(
      [
        { id: "1", title: "Parental Leave", score: 0.8 },
        { id: "2", title: "", score: 0.1 },
      ],
      {
        query: "the parental leave policy",
        bm25: Float64Array.of(4, 0),
        rm3: Float64Array.of(2, 0.5),
        keywordRank: new Map([["1", 0]]),
        dense: new Map([["2", { rank: 3, score: 0.4 }]]),
        length: (id) => (id === "1" ? 9 : 0),
      },
    );
    expect(Object.keys(f!).sort()).toEqual([...FEATURE_NAMES].sort());
    // "the" is a stop word: two of the three query terms are in the title.
    expect(f).toEqual({
      bm25: 4,
      rm3: 2,
      dense: 0,
      dense_present: 0,
      fused: 0.8,
      title_match: 2 / 3,
      rank_keyword: 1,
      rank_dense: 0,
      log_length: Math.log(10),
    });
    expect(g).toEqual({
      bm25: 0,
      rm3: 0.5,
      dense: 0.4,
      dense_present: 1,
      fused: 0.1,
      title_match: 0,
      rank_keyword: 0,
      rank_dense: 0.25,
      log_length: 0,
    });
  });
});
