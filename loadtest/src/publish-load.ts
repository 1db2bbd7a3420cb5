import { type Bus, publishDataEvent } from "@tailor/bus";
import { makeDoc, mulberry32 } from "./corpus.js";
import { LatencyRecorder } from "./metrics.js";
import type { Marked } from "./probes.js";
import { runOpenLoop } from "./rate.js";

export interface PublishLoadOptions {
  runId: string;
  rate: number;
  durationMs: number;
  tenants: number;
  docBytes: number;
  seed: number;
  maxInFlight: number;
  /** Every n-th document is handed to `onSampled` once acknowledged (0 = none). */
  sampleEvery: number;
  /** Every n-th document is kept for the final spot check (0 = none). */
  spotEvery: number;
  signal: AbortSignal;
  onSampled?: (d: Marked, startedAt: number) => void;
}

/** Publishes synthetic data events on an open-loop schedule and counts what the broker accepted. */
export class PublishLoad {
  readonly ackLatency = new LatencyRecorder();
  /** Documents the stream acknowledged as new. */
  published = 0;
  duplicates = 0;
  errors = 0;
  /** Scheduled publishes dropped because too many were still in flight. */
  shed = 0;
  scheduled = 0;
  maxLateMs = 0;
  startedAt = 0;
  lastAckAt = 0;
  firstError?: string;
  readonly spot: Marked[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly bus: Bus,
    private readonly o: PublishLoadOptions,
  ) {}

  async run(): Promise<void> {
    const rand = mulberry32(this.o.seed);
    this.startedAt = performance.now();
    const r = await runOpenLoop(
      { ratePerS: this.o.rate, durationMs: this.o.durationMs, signal: this.o.signal },
      (seq) => {
        this.scheduled++;
        if (this.inFlight.size >= this.o.maxInFlight) {
          this.shed++;
          return;
        }
        const doc = makeDoc(this.o.runId, seq, this.o.tenants, this.o.docBytes, rand);
        const p = this.publishOne(seq, doc).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      },
    );
    this.maxLateMs = r.maxLateMs;
    await Promise.all(this.inFlight);
  }

  private async publishOne(seq: number, doc: ReturnType<typeof makeDoc>): Promise<void> {
    const started = performance.now();
    try {
      const ack = await publishDataEvent(this.bus, doc.tenant, "loadtest", "upsert", {
        id: doc.id,
        title: doc.title,
        text: doc.text,
        contentType: "text/plain",
      });
      const now = performance.now();
      this.ackLatency.record(now - started);
      this.lastAckAt = Math.max(this.lastAckAt, now);
      if (ack.duplicate) {
        this.duplicates++;
        return;
      }
      this.published++;
      const marked = { tenant: doc.tenant, id: doc.id, marker: doc.marker };
      if (this.o.spotEvery > 0 && seq % this.o.spotEvery === 0) this.spot.push(marked);
      if (this.o.sampleEvery > 0 && seq % this.o.sampleEvery === 0) {
        this.o.onSampled?.(marked, started);
      }
    } catch (err) {
      this.errors++;
      this.firstError ??= (err as Error).message;
    }
  }
}
