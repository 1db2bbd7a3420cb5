import { describe, expect, it } from "vitest";
import { DEFAULT_BM25, DEFAULT_RM3, KeywordIndex } from "./keyword-index.js";

const doc = (text: string, source = "wiki", metadata: Record<string, string> = {}) => ({
  title: "",
  text,
  source,
  metadata,
});

describe("KeywordIndex BM25", () => {
  it("scores a tiny corpus exactly as Lucene's BM25 formula", () => {
    const index = new KeywordIndex();
    // Analysed lengths: d1 = [quick, fox, fox] 3, d2 = [lazy, dog] 2, d3 = [fox, dog, quick, brown] 4.
    index.add("t", "d1", doc("quick fox fox"));
    index.add("t", "d2", doc("lazy dog"));
    index.add("t", "d3", doc("fox dog quick brown"));
    const k1 = 0.9;
    const b = 0.4;
    const n = 3;
    const avgdl = (3 + 2 + 4) / 3;
    const idf = (df: number) => Math.log(1 + (n - df + 0.5) / (df + 0.5));
    const tfNorm = (tf: number, dl: number) =>
      (tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * dl) / avgdl));
    // "fox" has df 2: tf 2 in d1 (dl 3), tf 1 in d3 (dl 4).
    const d1 = idf(2) * tfNorm(2, 3);
    const d3 = idf(2) * tfNorm(1, 4);
    // By hand: avgdl = 3, so idf(2) = ln(1 + 1.5/2.5) = ln 1.6 and tfNorm(2, 3) = 3.8 / (2 + 0.9).
    expect(d1).toBeCloseTo((Math.log(1.6) * 3.8) / 2.9, 12);
    const hits = index.search("t", "fox", 10);
    expect(hits.map((h) => h.id)).toEqual(["d1", "d3"]);
    expect(hits[0]!.score).toBeCloseTo(d1, 10);
    expect(hits[1]!.score).toBeCloseTo(d3, 10);
    // Multi-term query sums per-term scores.
    const both = index.search("t", "brown fox", 10);
    expect(both[0]!.id).toBe("d3");
    expect(both[0]!.score).toBeCloseTo(d3 + idf(1) * tfNorm(1, 4), 10);
    expect(index.documentFrequency("t", "Foxes")).toBe(2);
    expect(index.averageDocumentLength("t")).toBeCloseTo(avgdl, 10);
  });

  it("analyses title and text together", () => {
    const index = new KeywordIndex();
    index.add("t", "a", { title: "Kubernetes", text: "deploying pods", source: "s", metadata: {} });
    expect(index.search("t", "kubernetes deploy", 5).map((h) => h.id)).toEqual(["a"]);
  });

  it("ignores stop words and matches stems", () => {
    const index = new KeywordIndex();
    index.add("t", "a", doc("connections between routers"));
    index.add("t", "b", doc("the and of"));
    expect(index.search("t", "the", 5)).toEqual([]);
    expect(index.search("t", "connected router", 5).map((h) => h.id)).toEqual(["a"]);
  });

  it("keeps tenants apart, including their statistics", () => {
    const index = new KeywordIndex();
    index.add("a", "1", doc("secret merger plans"));
    index.add("b", "2", doc("public roadmap"));
    expect(index.search("b", "merger", 5)).toEqual([]);
    expect(index.search("a", "merger", 5).map((h) => h.id)).toEqual(["1"]);
    expect(index.count("a")).toBe(1);
    expect(index.documentFrequency("b", "merger")).toBe(0);
  });

  it("removes and replaces documents", () => {
    const index = new KeywordIndex();
    index.add("t", "x", doc("apples and pears"));
    index.add("t", "y", doc("pears only"));
    index.add("t", "x", doc("bananas"));
    expect(index.count("t")).toBe(2);
    expect(index.search("t", "apples", 5)).toEqual([]);
    expect(index.search("t", "bananas", 5).map((h) => h.id)).toEqual(["x"]);
    expect(index.documentFrequency("t", "pears")).toBe(1);
    expect(index.remove("t", "y")).toBe(true);
    expect(index.remove("t", "y")).toBe(false);
    expect(index.search("t", "pears", 5)).toEqual([]);
    expect(index.count("t")).toBe(1);
  });

  it("survives compaction after many removals", () => {
    const index = new KeywordIndex();
    for (let i = 0; i < 3000; i++) index.add("t", `d${i}`, doc(`common token${i % 7}`));
    for (let i = 0; i < 2500; i++) index.remove("t", `d${i}`);
    expect(index.count("t")).toBe(500);
    const hits = index.search("t", "token3", 1000);
    expect(hits.length).toBe(
      Array.from({ length: 500 }, (_, j) => 2500 + j).filter((i) => i % 7 === 3).length,
    );
    expect(hits.every((h) => Number(h.id.slice(1)) >= 2500)).toBe(true);
  });

  it("filters by source and metadata", () => {
    const index = new KeywordIndex();
    index.add("t", "1", doc("invoice total", "mail", { lang: "en" }));
    index.add("t", "2", doc("invoice due", "drive", { lang: "en" }));
    index.add("t", "3", doc("invoice rechnung", "drive", { lang: "de" }));
    expect(
      index
        .search("t", "invoice", 5, { sources: ["drive"] })
        .map((h) => h.id)
        .sort(),
    ).toEqual(["2", "3"]);
    expect(
      index
        .search("t", "invoice", 5, { sources: ["drive"], metadata: { lang: "de" } })
        .map((h) => h.id),
    ).toEqual(["3"]);
    expect(index.search("t", "invoice", 5, { metadata: { lang: "fr" } })).toEqual([]);
  });

  it("honours per-tenant parameters", () => {
    const index = new KeywordIndex();
    index.add("t", "short", doc("cat"));
    index.add("t", "long", doc("cat cat dog dog bird bird fish fish"));
    const before = index.search("t", "cat", 2).map((h) => h.id);
    // Full length normalisation (b = 1) punishes the long document enough to flip the order.
    index.setParams("t", { b: 1 });
    const after = index.search("t", "cat", 2).map((h) => h.id);
    expect(before).toEqual(["long", "short"]);
    expect(after).toEqual(["short", "long"]);
    expect(index.search("u", "cat", 2)).toEqual([]);
  });

  it("takes k1/b per call without changing the tenant's parameters", () => {
    const index = new KeywordIndex();
    index.add("t", "short", doc("cat"));
    index.add("t", "long", doc("cat cat dog dog bird bird fish fish"));
    expect(index.search("t", "cat", 2, undefined, { b: 1 }).map((h) => h.id)).toEqual([
      "short",
      "long",
    ]);
    // The override was for that call only.
    expect(index.search("t", "cat", 2).map((h) => h.id)).toEqual(["long", "short"]);
    // A per-call value wins over the tenant's, and the rest falls back to it.
    index.setParams("t", { b: 1 });
    const k1Only = index.search("t", "cat", 2, undefined, { k1: 1.2 });
    const explicit = index.search("t", "cat", 2, undefined, { k1: 1.2, b: 1 });
    expect(k1Only).toEqual(explicit);
    expect(index.search("t", "cat", 2, undefined, { b: 0 }).map((h) => h.id)).toEqual([
      "long",
      "short",
    ]);
  });
});

describe("KeywordIndex RM3", () => {
  it("expands the query with feedback terms so related documents rank", () => {
    const index = new KeywordIndex();
    index.add("t", "q1", doc("jaguar speed cat predator"));
    index.add("t", "q2", doc("jaguar cat jungle predator"));
    index.add("t", "rel", doc("big cat predator hunting in the jungle"));
    index.add("t", "car", doc("fast sports car engine"));
    for (let i = 0; i < 30; i++)
      index.add("t", `filler${i}`, doc(`unrelated filler text number ${i}`));
    const plain = index.search("t", "jaguar", 10).map((h) => h.id);
    expect(plain).not.toContain("rel");
    const rm3 = index.searchRm3("t", "jaguar", 10, { fbDocs: 2, fbTerms: 5, originalWeight: 0.5 });
    const ids = rm3.map((h) => h.id);
    expect(ids.slice(0, 2).sort()).toEqual(["q1", "q2"]);
    expect(ids).toContain("rel");
    expect(ids).not.toContain("car");
  });

  it("with originalWeight 1 ranks like plain BM25", () => {
    const index = new KeywordIndex();
    index.add("t", "a", doc("alpha beta"));
    index.add("t", "b", doc("alpha alpha gamma"));
    for (let i = 0; i < 20; i++) index.add("t", `f${i}`, doc(`noise ${i}`));
    const plain = index.search("t", "alpha", 5).map((h) => h.id);
    const rm3 = index.searchRm3("t", "alpha", 5, { originalWeight: 1 }).map((h) => h.id);
    expect(rm3).toEqual(plain);
  });

  it("takes BM25 and feedback parameters per call; left out, the defaults", () => {
    const index = new KeywordIndex();
    index.add("t", "q1", doc("jaguar speed cat predator"));
    index.add("t", "q2", doc("jaguar cat jungle predator"));
    index.add("t", "rel", doc("big cat predator hunting in the jungle"));
    for (let i = 0; i < 30; i++) index.add("t", `f${i}`, doc(`unrelated filler text number ${i}`));
    const defaults = index.searchRm3("t", "jaguar", 10);
    expect(defaults.length).toBeGreaterThan(0);
    expect(index.searchRm3("t", "jaguar", 10, { ...DEFAULT_RM3, bm25: DEFAULT_BM25 })).toEqual(
      defaults,
    );
    const tuned = index.searchRm3("t", "jaguar", 10, { bm25: { k1: 2, b: 1 }, fbDocs: 1 });
    expect(tuned.map((h) => h.score)).not.toEqual(defaults.map((h) => h.score));
    // The per-call BM25 parameters reach both the feedback and the final search.
    expect(
      index.searchRm3("t", "jaguar", 10, { bm25: { k1: 2, b: 1 }, originalWeight: 1 }),
    ).toEqual(index.search("t", "jaguar", 10, undefined, { k1: 2, b: 1 }));
  });
});

describe("KeywordIndex.query", () => {
  const corpus = () => {
    const index = new KeywordIndex();
    index.add("t", "q1", doc("jaguar speed cat predator"));
    index.add("t", "q2", doc("jaguar cat jungle predator", "other"));
    index.add("t", "rel", doc("big cat predator hunting in the jungle"));
    for (let i = 0; i < 30; i++) index.add("t", `f${i}`, doc(`unrelated filler text number ${i}`));
    return index;
  };

  it("scores given documents exactly as its search does, with and without RM3", () => {
    const index = corpus();
    for (const o of [
      { bm25: { k1: 1.3, b: 0.7 } },
      { bm25: { k1: 1.3, b: 0.7 }, rm3: { fbDocs: 2, fbTerms: 5, originalWeight: 0.4 } },
    ]) {
      const q = index.query("t", "jaguar cat", o);
      const hits = q.search(50);
      expect(hits.length).toBeGreaterThan(1);
      const scores = q.score([...hits.map((h) => h.id), "missing", "f3"]);
      expect([...scores.slice(0, hits.length)]).toEqual(hits.map((h) => h.score));
      expect(scores[hits.length]).toBe(0);
      expect(scores[hits.length + 1]).toBe(0);
    }
    // searchRm3 is the same query's search.
    const rm3 = { fbDocs: 2, fbTerms: 5, originalWeight: 0.4, bm25: { k1: 1.3, b: 0.7 } };
    expect(index.searchRm3("t", "jaguar cat", 10, rm3)).toEqual(
      index.query("t", "jaguar cat", { rm3, bm25: rm3.bm25 }).search(10),
    );
  });

  it("filters its search (and RM3's feedback) but scores any document it is given", () => {
    const index = corpus();
    const q = index.query("t", "jaguar", { filter: { sources: ["other"] } });
    expect(q.search(10).map((h) => h.id)).toEqual(["q2"]);
    expect(q.score(["q1"])[0]).toBeGreaterThan(0);
  });

  it("is empty for an unknown tenant and reports analysed lengths", () => {
    const index = corpus();
    expect(index.query("nobody", "jaguar").search(5)).toEqual([]);
    expect([...index.query("nobody", "jaguar").score(["q1"])]).toEqual([0]);
    expect(index.documentLength("t", "q1")).toBe(4);
    expect(index.documentLength("t", "nope")).toBe(0);
    expect(index.documentLength("u", "q1")).toBe(0);
  });
});
