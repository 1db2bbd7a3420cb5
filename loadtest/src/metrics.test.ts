import { describe, expect, it } from "vitest";
import { formatFigure, LatencyRecorder, percentile } from "./metrics.js";

describe("percentile", () => {
  it("interpolates between closest ranks", () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([10, 20], 99)).toBeCloseTo(19.9, 10);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe("LatencyRecorder", () => {
  it("keeps every value below capacity", () => {
    const r = new LatencyRecorder(10);
    for (const v of [5, 1, 3]) r.record(v);
    expect(r.count).toBe(3);
    expect(r.percentiles(0, 50, 100)).toEqual([1, 3, 5]);
  });

  it("stays bounded and representative past capacity", () => {
    const r = new LatencyRecorder(1000);
    for (let i = 0; i < 100_000; i++) r.record(i % 100);
    expect(r.count).toBe(100_000);
    const [p50] = r.percentiles(50);
    expect(p50).toBeGreaterThan(40);
    expect(p50).toBeLessThan(60);
  });
});

describe("formatFigure", () => {
  it("prints the project's bench line", () => {
    expect(formatFigure({ metric: "search_p99_ms", value: 12.345678, unit: "ms" })).toBe(
      '{"bench":"loadtest","metric":"search_p99_ms","value":12.3457,"unit":"ms"}',
    );
    expect(formatFigure({ metric: "x", value: Number.NaN, unit: "ms" })).toContain('"value":null');
  });
});
