import type { Client } from "@connectrpc/connect";
import { type RetrievalService, SearchMode } from "@tailor/proto";
import { LatencyRecorder } from "./metrics.js";
import { pause } from "./rate.js";

type Retrieval = Client<typeof RetrievalService>;

/** A published document that can be looked up by its marker word. */
export interface Marked {
  tenant: string;
  id: string;
  marker: string;
}

/** True when a keyword search for the marker finds this document. */
export async function isSearchable(retrieval: Retrieval, d: Marked): Promise<boolean> {
  const r = await retrieval.search({
    tenant: d.tenant,
    query: d.marker,
    k: 1,
    mode: SearchMode.KEYWORD,
  });
  return r.hits.some((h) => h.documentId === d.id);
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Documents the index holds, summed over the run's tenants (Stats per tenant). */
export async function countIndexed(retrieval: Retrieval, tenants: readonly string[]) {
  const counts = await mapLimit(tenants, 16, async (tenant) =>
    Number((await retrieval.stats({ tenant })).documents),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Looks each marker up once; returns how many were not found. */
export async function spotCheck(retrieval: Retrieval, docs: readonly Marked[]): Promise<number> {
  const found = await mapLimit(docs, 16, (d) => isSearchable(retrieval, d).catch(() => false));
  return found.filter((f) => !f).length;
}

/**
 * Measures publish → searchable for sampled documents by polling keyword search for each
 * marker. The poll interval grows with the time waited (about 5% of it, 10 ms to 500 ms), which
 * keeps the error small without the probes themselves becoming a search load.
 */
export class VisibilityProbe {
  readonly latency = new LatencyRecorder(100_000, 11);
  timedOut = 0;
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly retrieval: Retrieval,
    /** Aborted when the drain ends: a probe still waiting then counts as timed out. */
    private readonly deadline: AbortSignal,
  ) {}

  /** Starts polling for `d`, published at `startedAt` (performance.now() time). */
  track(d: Marked, startedAt: number): void {
    const p = this.poll(d, startedAt).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  get pending(): number {
    return this.running.size;
  }

  async settle(): Promise<void> {
    await Promise.all(this.running);
  }

  private async poll(d: Marked, startedAt: number): Promise<void> {
    while (!this.deadline.aborted) {
      const found = await isSearchable(this.retrieval, d).catch(() => false);
      if (found) {
        this.latency.record(performance.now() - startedAt);
        return;
      }
      const waited = performance.now() - startedAt;
      await pause(Math.min(500, Math.max(10, waited / 20)), this.deadline);
    }
    this.timedOut++;
  }
}
