import { describe, expect, it } from "vitest";
import { formatFigure, LatencyRecorder } from "./metrics.js";

describe("LatencyRecorder", () => {
  it("keeps every value below capacity", () => {
    const r = new LatencyRecorder(10);
    for (const v of [5, 1, 3]) r.record(v);
    expect(r.count).toBe(3);
    expect(r.percentiles(0, 50, 100)).toEqual([1, 3, 5]);
    r.record(7);
    expect(r.percentiles(50)).toEqual([4]);
  });

  it("answers NaN before anything was recorded", () => {
    expect(new LatencyRecorder(10).percentiles(50, 99)).toEqual([Number.NaN, Number.NaN]);
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
