import { performance } from "node:perf_hooks";

/**
 * Splits a request's time into the gateway's own (overhead) and the time it waited: on
 * downstream calls (guard, retrieval, registry, generator, PostgreSQL) and on a streaming
 * client to take what was sent.
 */
export class Stopwatch {
  private readonly started: number;
  private waitedMs = 0;
  /** Time waited per phase (`retrieval`, `guard`, …), for the `server-timing` header. */
  readonly phases = new Map<string, number>();

  constructor(started = performance.now()) {
    this.started = started;
  }

  /**
   * Awaits `p`, counting the time as waited. Given a function, its call counts too: what a
   * client library does to make a downstream call is part of calling it, not the gateway's own.
   */
  async wait<T>(p: Promise<T> | (() => Promise<T>), phase = "other"): Promise<T> {
    const t = performance.now();
    try {
      return await (typeof p === "function" ? p() : p);
    } finally {
      const d = performance.now() - t;
      this.waitedMs += d;
      this.phases.set(phase, (this.phases.get(phase) ?? 0) + d);
    }
  }

  /** Starts a wait that the returned function ends (for a `yield` to a streaming client). */
  pause(): () => void {
    const t = performance.now();
    return () => {
      this.waitedMs += performance.now() - t;
    };
  }

  get elapsedMs(): number {
    return performance.now() - this.started;
  }

  /** The gateway's own time so far, in ms (3 decimals). */
  get overheadMs(): number {
    return Math.max(0, Math.round((this.elapsedMs - this.waitedMs) * 1000) / 1000);
  }

  /**
   * A `server-timing` header value: the gateway's own time, then each phase waited on, in ms
   * (https://www.w3.org/TR/server-timing/), so a caller sees where a request's time went.
   */
  serverTiming(): string {
    const parts = [`gateway;dur=${this.overheadMs}`];
    for (const [phase, ms] of this.phases)
      parts.push(`${phase};dur=${Math.round(ms * 1000) / 1000}`);
    return parts.join(", ");
  }
}
