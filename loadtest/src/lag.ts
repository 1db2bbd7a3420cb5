import { type Bus, consumerBacklog, type StreamKey } from "@tailor/bus";
import { pause } from "./rate.js";

/** The pipeline's durable consumers, in the order a document passes them. */
export const STAGES: readonly { stream: StreamKey; durable: string }[] = [
  { stream: "DATA", durable: "ingestion" },
  { stream: "CHUNK", durable: "embedding" },
  { stream: "EMBEDDING", durable: "retrieval" },
];

export interface LagSnapshot {
  /** Messages pending plus delivered-but-unacknowledged, per durable. */
  byDurable: Record<string, number>;
  total: number;
}

/**
 * Polls consumer info while the run lasts. Lag is counted in messages, not documents: a
 * document's chunk and embedding events may be split into several messages.
 */
export class LagMonitor {
  private readonly max: Record<string, number> = {};
  private maxTotal = 0;
  private last: LagSnapshot = { byDurable: {}, total: 0 };
  private readonly stop = new AbortController();
  private loop?: Promise<void>;

  constructor(
    private readonly bus: Bus,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async sample(): Promise<LagSnapshot> {
    const byDurable: Record<string, number> = {};
    let total = 0;
    for (const s of STAGES) {
      let n = 0;
      try {
        n = (await consumerBacklog(this.bus, s.stream, s.durable)).messages;
      } catch {
        // A consumer that does not exist yet has nothing pending that it could report.
      }
      byDurable[s.durable] = n;
      total += n;
      this.max[s.durable] = Math.max(this.max[s.durable] ?? 0, n);
    }
    this.maxTotal = Math.max(this.maxTotal, total);
    this.last = { byDurable, total };
    return this.last;
  }

  get latest(): LagSnapshot {
    return this.last;
  }

  /** Highest total seen and the highest per durable (not necessarily at the same moment). */
  get maxima(): { total: number; byDurable: Record<string, number> } {
    return { total: this.maxTotal, byDurable: { ...this.max } };
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stop.signal.aborted) {
      await this.sample();
      await pause(this.intervalMs, this.stop.signal);
    }
  }
}
