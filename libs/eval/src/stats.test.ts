import { mulberry32 } from "@tailor/models/random";
import { describe, expect, it } from "vitest";
import { median, pairedPermutationTest, percentile } from "./stats.js";

describe("percentile and median", () => {
  it("interpolates linearly between closest ranks", () => {
    const xs = [15, 20, 35, 40, 50];
    expect(percentile(xs, 0)).toBe(15);
    expect(percentile(xs, 100)).toBe(50);
    expect(percentile(xs, 50)).toBe(35);
    expect(percentile(xs, 40)).toBe(29); // h = 1.6 → 20 + 0.6 * 15
    expect(percentile([1, 2, 3, 4], 90)).toBeCloseTo(3.7, 12);
  });

  it("does not depend on input order or mutate it", () => {
    const xs = [3, 1, 2, 4];
    expect(median(xs)).toBe(2.5);
    expect(xs).toEqual([3, 1, 2, 4]);
    expect(median([7])).toBe(7);
  });

  it("rejects empty input and out-of-range p", () => {
    expect(() => median([])).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe("pairedPermutationTest", () => {
  const rand = mulberry32(1);
  const base = Array.from({ length: 50 }, () => rand());

  it("gives a small p-value for clearly different systems", () => {
    const better = base.map((x) => x + 0.2 + 0.05 * rand());
    const p = pairedPermutationTest(better, base, { seed: 3 });
    expect(p).toBeLessThan(0.001);
    // (0 + 1) / (rounds + 1) is the floor.
    expect(p).toBeGreaterThanOrEqual(1 / 10_001);
  });

  it("gives a large p-value for near-identical systems", () => {
    const noisy = base.map((x) => x + (rand() - 0.5) * 0.01);
    expect(pairedPermutationTest(noisy, base, { seed: 3 })).toBeGreaterThan(0.05);
    expect(pairedPermutationTest(base, base)).toBe(1);
  });

  it("is two-sided, seeded and reproducible", () => {
    const shifted = base.map((x, i) => x + (i % 3 === 0 ? 0.05 : -0.01));
    const p1 = pairedPermutationTest(shifted, base, { seed: 9, rounds: 2000 });
    expect(pairedPermutationTest(shifted, base, { seed: 9, rounds: 2000 })).toBe(p1);
    expect(pairedPermutationTest(base, shifted, { seed: 9, rounds: 2000 })).toBe(p1);
  });

  it("validates its input", () => {
    expect(() => pairedPermutationTest([1, 2], [1])).toThrow(RangeError);
    expect(() => pairedPermutationTest([1], [1], { rounds: 0 })).toThrow(RangeError);
  });
});
