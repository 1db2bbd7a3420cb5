import { percentile } from "@tailor/eval";
import { mulberry32 } from "./corpus.js";

/** One figure in the project's bench format. */
export interface Figure {
  metric: string;
  value: number;
  unit: string;
}

/** The JSON line of one figure, as every Tailor benchmark prints it. */
export function formatFigure(f: Figure): string {
  const value = Number.isFinite(f.value) ? Number(f.value.toFixed(4)) : null;
  return JSON.stringify({ bench: "loadtest", metric: f.metric, value, unit: f.unit });
}

/**
 * Latency samples with a fixed memory ceiling: past `capacity` values it keeps a uniform
 * reservoir (Algorithm R), so a soak of hours does not grow without bound.
 */
export class LatencyRecorder {
  private readonly values: Float64Array;
  private size = 0;
  private seen = 0;
  private readonly rand: () => number;

  constructor(
    private readonly capacity = 200_000,
    seed = 7,
  ) {
    this.values = new Float64Array(capacity);
    this.rand = mulberry32(seed);
  }

  record(ms: number): void {
    this.seen++;
    if (this.size < this.capacity) {
      this.values[this.size++] = ms;
      return;
    }
    const j = Math.floor(this.rand() * this.seen);
    if (j < this.capacity) this.values[j] = ms;
  }

  get count(): number {
    return this.seen;
  }

  /** Percentiles of what was recorded, as bench/ defines them so figures compare; NaN when none. */
  percentiles(...ps: number[]): number[] {
    if (this.size === 0) return ps.map(() => Number.NaN);
    const values = Array.from(this.values.subarray(0, this.size));
    return ps.map((p) => percentile(values, p));
  }
}
