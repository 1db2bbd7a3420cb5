import { describe, expect, it } from "vitest";
import type { EvalSet } from "./eval-set.js";
import { splitEvalSet, splitSide } from "./split.js";

const set = (n: number): EvalSet => ({
  queries: Array.from({ length: n }, (_, i) => ({ id: String(i + 1), text: `q${i + 1}` })),
  qrels: new Map(
    Array.from({ length: n }, (_, i) => [String(i + 1), new Map([[`d${i + 1}`, 1]])] as const),
  ),
});

describe("splitEvalSet", () => {
  it("puts odd ids in train and even ids in held-out with parity", () => {
    const { train, heldOut } = splitEvalSet(set(6), { method: "parity" });
    expect(train.queries.map((q) => q.id)).toEqual(["1", "3", "5"]);
    expect(heldOut.queries.map((q) => q.id)).toEqual(["2", "4", "6"]);
    expect([...heldOut.qrels.keys()]).toEqual(["2", "4", "6"]);
    expect(() => splitSide("q7", { method: "parity" })).toThrow(/integer query ids/);
  });

  it("splits by a seeded hash: stable, order-independent, near the fraction", () => {
    const spec = { method: "hash", seed: 42, heldOutFraction: 0.3 } as const;
    const a = splitEvalSet(set(2000), spec);
    const reversed = set(2000);
    reversed.queries.reverse();
    const b = splitEvalSet(reversed, spec);
    const ids = (s: EvalSet) => new Set(s.queries.map((q) => q.id));
    expect(ids(b.heldOut)).toEqual(ids(a.heldOut));
    expect(a.train.queries.length + a.heldOut.queries.length).toBe(2000);
    expect(a.heldOut.queries.length).toBeGreaterThan(520);
    expect(a.heldOut.queries.length).toBeLessThan(680);
    // A fixed id keeps its side across runs and machines (sha256, not Math.random).
    expect(splitSide("1", spec)).toBe(splitSide("1", { ...spec }));
    const other = splitEvalSet(set(2000), { ...spec, seed: 43 });
    expect(ids(other.heldOut)).not.toEqual(ids(a.heldOut));
    expect(splitEvalSet(set(10), { ...spec, heldOutFraction: 0 }).heldOut.queries).toEqual([]);
    expect(() => splitEvalSet(set(1), { ...spec, heldOutFraction: 2 })).toThrow(RangeError);
  });
});
