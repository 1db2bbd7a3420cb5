import type { Client } from "@connectrpc/connect";
import { type RetrievalService, SearchMode } from "@tailor/proto";
import { makeQuery, mulberry32 } from "./corpus.js";
import { LatencyRecorder } from "./metrics.js";
import { runOpenLoop } from "./rate.js";

export interface SearchLoadOptions {
  rate: number;
  durationMs: number;
  mode: "keyword" | "dense" | "hybrid";
  tenants: readonly string[];
  seed: number;
  maxInFlight: number;
  signal: AbortSignal;
}

const MODES = {
  keyword: SearchMode.KEYWORD,
  dense: SearchMode.DENSE,
  hybrid: SearchMode.HYBRID,
} as const;

/** Search RPCs on an open-loop schedule, concurrent with the ingest load. */
export class SearchLoad {
  readonly latency = new LatencyRecorder();
  ok = 0;
  errors = 0;
  shed = 0;
  startedAt = 0;
  lastDoneAt = 0;
  firstError?: string;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly retrieval: Client<typeof RetrievalService>,
    private readonly o: SearchLoadOptions,
  ) {}

  async run(): Promise<void> {
    if (this.o.rate <= 0) return;
    const rand = mulberry32(this.o.seed ^ 0x5eed);
    this.startedAt = performance.now();
    await runOpenLoop(
      { ratePerS: this.o.rate, durationMs: this.o.durationMs, signal: this.o.signal },
      () => {
        if (this.inFlight.size >= this.o.maxInFlight) {
          this.shed++;
          return;
        }
        const tenant = this.o.tenants[Math.floor(rand() * this.o.tenants.length)]!;
        const p = this.searchOne(tenant, makeQuery(rand)).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      },
    );
    await Promise.all(this.inFlight);
  }

  /** Successful searches per second over the window from the first request to the last answer. */
  get qps(): number {
    const s = (this.lastDoneAt - this.startedAt) / 1000;
    return s > 0 ? this.ok / s : 0;
  }

  private async searchOne(tenant: string, query: string): Promise<void> {
    const started = performance.now();
    try {
      await this.retrieval.search({ tenant, query, k: 10, mode: MODES[this.o.mode] });
      const now = performance.now();
      this.latency.record(now - started);
      this.lastDoneAt = Math.max(this.lastDoneAt, now);
      this.ok++;
    } catch (err) {
      this.errors++;
      this.firstError ??= (err as Error).message;
    }
  }
}
