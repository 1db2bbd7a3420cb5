import { describe, expect, it } from "vitest";
import { compareSystems } from "./compare.js";
import { evaluate, type Qrels, type Run } from "./trec-eval.js";

// 12 queries, each with relevant docs r1 and r2 among n1..n8.
const qids = Array.from({ length: 12 }, (_, i) => `q${i + 1}`);
const qrels: Qrels = new Map(
  qids.map((q) => [
    q,
    new Map([
      ["r1", 1],
      ["r2", 1],
    ]),
  ]),
);
const runOf = (order: string[]): Run =>
  new Map(qids.map((q) => [q, order.map((docId, i) => ({ docId, score: order.length - i }))]));
// Champion finds the relevant docs at ranks 3 and 4, the candidate at 1 and 2.
const champion = evaluate(runOf(["n1", "n2", "r1", "r2", "n3"]), qrels);
const better = evaluate(runOf(["r1", "r2", "n1", "n2", "n3"]), qrels);

describe("compareSystems", () => {
  it("gives p = 1 and fails the gate for identical systems", () => {
    const c = compareSystems(champion, champion);
    expect(c.metrics.every((m) => m.pValue === 1 && m.delta === 0)).toBe(true);
    expect(c.metrics.length).toBeGreaterThan(0);
    expect(c.verdict.pass).toBe(false);
    const failed = c.verdict.checks.filter((k) => !k.passed);
    expect(failed.map((k) => k.check)).toEqual(["significance"]);
    expect(failed[0]!.detail).toBe("ndcg_cut_10 p = 1.0000 ≥ alpha 0.05");
  });

  it("passes a candidate better on every query, listing each check", () => {
    const c = compareSystems(champion, better, { minGain: 0.05 });
    const ndcg = c.metrics.find((m) => m.metric === "ndcg_cut_10")!;
    expect(ndcg.delta).toBeGreaterThan(0.05);
    // All 12 differences equal and positive: only the all-plus and all-minus sign patterns
    // reach |sum|, so p ≈ 2/4096 (plus the +1 of the observed assignment).
    expect(ndcg.pValue).toBeLessThan(0.005);
    expect(c.verdict.pass).toBe(true);
    expect(c.verdict.checks.map((k) => k.check)).toEqual([
      "min_gain",
      "significance",
      ...Array(7).fill("no_regression"),
    ]);
    expect(c.verdict.checks[0]!.detail).toMatch(
      /^ndcg_cut_10 gain \+0\.\d{4} ≥ minimum \+0\.0500$/,
    );
    expect(c.queries).toHaveLength(12);
  });

  it("fails when the gain is below the minimum or a guarded metric drops", () => {
    expect(compareSystems(champion, better, { minGain: 0.9 }).verdict.checks[0]!.passed).toBe(
      false,
    );
    // Swapping the roles makes every metric worse: map drops far beyond the tolerance.
    const worse = compareSystems(better, champion, { primary: "recall_100" });
    expect(worse.verdict.pass).toBe(false);
    const map = worse.verdict.checks.find((k) => k.metric === "map")!;
    expect(map).toMatchObject({ check: "no_regression", passed: false });
    expect(map.detail).toMatch(/^map change −0\.\d{4} beyond tolerance −0\.0100$/);
  });

  it("refuses results over different queries", () => {
    const fewer = evaluate(runOf(["r1"]), new Map([...qrels].slice(0, 5)));
    expect(() => compareSystems(champion, fewer)).toThrow(/different queries/);
  });
});
