import { setTimeout as sleep } from "node:timers/promises";

export interface OpenLoopOptions {
  ratePerS: number;
  durationMs: number;
  signal?: AbortSignal;
  now?: () => number;
}

export interface OpenLoopResult {
  /** Events fired (the schedule's count unless aborted). */
  fired: number;
  /** Worst lateness of the timer against the schedule: large values mean the generator, not the system, was the bottleneck. */
  maxLateMs: number;
}

/**
 * Fires `fire(seq, scheduledAt)` at `seq / rate` seconds after the start without waiting for
 * earlier calls to finish. Open loop: a slow system shows up as latency and lag, never as a
 * lower offered rate (closed loops hide overload by slowing the generator down).
 */
export async function runOpenLoop(
  o: OpenLoopOptions,
  fire: (seq: number, scheduledAt: number) => void,
): Promise<OpenLoopResult> {
  const now = o.now ?? (() => performance.now());
  const total = Math.floor((o.ratePerS * o.durationMs) / 1000);
  const intervalMs = 1000 / o.ratePerS;
  const t0 = now();
  let fired = 0;
  let maxLateMs = 0;
  while (fired < total && !o.signal?.aborted) {
    const t = now();
    // Fire everything already due in one burst: a timer that wakes late catches up instead of drifting.
    while (fired < total) {
      const at = t0 + fired * intervalMs;
      if (at > t) break;
      maxLateMs = Math.max(maxLateMs, t - at);
      fire(fired, at);
      fired++;
    }
    if (fired >= total) break;
    const wait = Math.max(0, t0 + fired * intervalMs - now());
    try {
      await sleep(wait, undefined, { signal: o.signal });
    } catch {
      break;
    }
  }
  return { fired, maxLateMs };
}

/** Sleeps, resolving early (without throwing) when the signal aborts. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // aborted: the caller checks the signal
  }
}
