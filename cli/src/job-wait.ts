import { type Client, Code } from "@connectrpc/connect";
import type { Job, TrainerService } from "@tailor/proto";
import { ServiceCallError } from "./errors.js";
import { isTerminal } from "./job-progress.js";

export interface WaitJobOptions {
  tenant: string;
  id: string;
  onUpdate: (job: Job) => void;
  /** Aborted on Ctrl-C: the wait ends, the job does not. */
  signal?: AbortSignal;
  /** How long the trainer may stay out of reach before the wait gives up (default 120 s). */
  reconnectMs?: number;
  /** Told once per lost connection, so a person sees why nothing moves. */
  onReconnect?: (err: ServiceCallError) => void;
}

// A trainer restarted mid-job resumes it from a checkpoint: the wait reconnects meanwhile.
const RETRYABLE = new Set([Code.Unavailable, Code.Internal, Code.Unknown, Code.Aborted]);

/**
 * Follows a job with WatchJob until it ends and returns its last state. A stream that breaks is
 * opened again (and the job read with GetJob if the stream ends early), for up to `reconnectMs`
 * of the trainer being unreachable in a row.
 */
export async function waitForJob(
  trainer: Client<typeof TrainerService>,
  o: WaitJobOptions,
): Promise<Job> {
  const budget = o.reconnectMs ?? 120_000;
  let failingSince: number | undefined;
  let delay = 250;
  for (;;) {
    try {
      for await (const r of trainer.watchJob(
        { tenant: o.tenant, id: o.id },
        { signal: o.signal },
      )) {
        failingSince = undefined;
        delay = 250;
        if (!r.job) continue;
        o.onUpdate(r.job);
        if (isTerminal(r.job.state)) return r.job;
      }
      // The stream ended without the end of the job: ask once, then watch again.
      const { job } = await trainer.getJob({ tenant: o.tenant, id: o.id }, { signal: o.signal });
      if (job) {
        o.onUpdate(job);
        if (isTerminal(job.state)) return job;
      }
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason ?? err;
      if (!(err instanceof ServiceCallError) || !RETRYABLE.has(err.cause.code)) throw err;
      const now = Date.now();
      if (failingSince === undefined) {
        failingSince = now;
        o.onReconnect?.(err);
      } else if (now - failingSince > budget) throw err;
    }
    await sleep(delay, o.signal);
    delay = Math.min(5000, delay * 2);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
