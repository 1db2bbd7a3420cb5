import { describe, expect, it } from "vitest";
import { runOpenLoop } from "./rate.js";

describe("runOpenLoop", () => {
  it("fires rate × duration events on schedule without waiting for them", async () => {
    const at: number[] = [];
    const t0 = performance.now();
    const r = await runOpenLoop({ ratePerS: 200, durationMs: 250 }, (_seq, scheduledAt) => {
      at.push(scheduledAt - t0);
    });
    expect(r.fired).toBe(50);
    expect(at).toHaveLength(50);
    // Scheduled times are evenly spaced at 1/rate whatever the timer did.
    expect(at[49]! - at[0]!).toBeCloseTo(49 * 5, 6);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(240);
  });

  it("catches up in a burst instead of lowering the rate when the loop is blocked", async () => {
    const t0 = performance.now();
    let fired = 0;
    const r = await runOpenLoop({ ratePerS: 1000, durationMs: 200 }, () => {
      if (fired++ === 0) while (performance.now() - t0 < 100) {} // block the event loop
    });
    expect(r.fired).toBe(200);
    expect(r.maxLateMs).toBeGreaterThanOrEqual(90);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("stops when aborted", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const r = await runOpenLoop({ ratePerS: 100, durationMs: 10_000, signal: ac.signal }, () => {});
    expect(r.fired).toBeGreaterThan(0);
    expect(r.fired).toBeLessThan(100);
  });
});
