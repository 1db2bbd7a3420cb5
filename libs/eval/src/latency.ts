import { percentile } from "./stats.js";

export interface LatencySummary {
  count: number;
  /** Milliseconds, by linear interpolation between closest ranks (see `percentile`). */
  p50: number;
  p95: number;
  mean: number;
}

/** p50/p95/mean of recorded query latencies (milliseconds); undefined when none were recorded. */
export function summariseLatency(ms: readonly number[]): LatencySummary | undefined {
  if (ms.length === 0) return undefined;
  if (ms.some((x) => !Number.isFinite(x) || x < 0)) {
    throw new RangeError("latencies must be finite and non-negative");
  }
  return {
    count: ms.length,
    p50: percentile(ms, 50),
    p95: percentile(ms, 95),
    mean: ms.reduce((s, x) => s + x, 0) / ms.length,
  };
}

/** One summary per version, for the versions that recorded any latency. */
export function latencyByVersion(
  recorded: ReadonlyMap<string, readonly number[]>,
): Map<string, LatencySummary> {
  const out = new Map<string, LatencySummary>();
  for (const [version, ms] of recorded) {
    const s = summariseLatency(ms);
    if (s) out.set(version, s);
  }
  return out;
}
