import type { Logger } from "@tailor/telemetry";
import type { JobStore } from "./job-store.js";
import { LeaseLostError } from "./job-store.js";
import type { JobRow } from "./job-view.js";

/** What a job's code gets from the runner. */
export interface JobEnv {
  /** Aborted on cancel (at the next checkpoint boundary), on shutdown and on a lost lease. */
  readonly signal: AbortSignal;
  /** True when another process had run this job (a checkpoint may be waiting). */
  readonly resumed: boolean;
  readonly logger: Logger;
  /** Progress 0..1 and what it is doing; written and published at most every progressIntervalMs. */
  report(progress: number, stage: string, metrics?: Record<string, number>): void;
  /** Records the job's dataset hash and the exact base version it resolved (kept on resume). */
  pin(p: { datasetHash: string; baseVersion: string }): Promise<void>;
  loadCheckpoint(): Promise<Uint8Array | undefined>;
  saveCheckpoint(data: Uint8Array): Promise<void>;
}

/** What a finished job hands back to be stored with its succeeded state. */
export interface JobOutcome {
  version: string;
  metrics: Record<string, number>;
  trained?: Parameters<JobStore["end"]>[3]["trained"];
}

export type Execute = (job: JobRow, env: JobEnv) => Promise<JobOutcome>;

export interface RunnerOptions {
  store: JobStore;
  owner: string;
  concurrency: number;
  leaseMs: number;
  heartbeatMs: number;
  pollMs: number;
  progressIntervalMs: number;
  logger: Logger;
  execute: Execute;
}

class StopReason extends Error {
  constructor(readonly why: "cancel" | "shutdown" | "lease-lost") {
    super(why);
  }
}

/**
 * Claims jobs and runs up to `concurrency` of them. Each running job keeps its lease alive with
 * a heartbeat, which also carries a cancel request back. A job that throws is failed with its
 * message; one stopped by shutdown keeps its checkpoint and gives its lease up, so the next
 * trainer (or this one, restarted) resumes it at once.
 */
export class JobRunner {
  private readonly active = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private stopped = false;
  private wakeUp?: () => void;
  private loop?: Promise<void>;

  constructor(private readonly o: RunnerOptions) {}

  start(): void {
    this.loop ??= this.pump();
  }

  /** A job was queued or one ended: look for work now. */
  notify(): void {
    this.wakeUp?.();
  }

  get running(): number {
    return this.active.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.notify();
    for (const a of this.active.values()) a.abort.abort(new StopReason("shutdown"));
    await this.loop;
    await Promise.all([...this.active.values()].map((a) => a.done));
  }

  private async pump(): Promise<void> {
    while (!this.stopped) {
      let claimed = false;
      if (this.active.size < this.o.concurrency) {
        try {
          const c = await this.o.store.claim(this.o.owner, this.o.leaseMs);
          if (c && !this.stopped) {
            claimed = true;
            this.launch(c.job, c.resumed);
          } else if (c) await this.o.store.release(this.o.owner, c.job.id);
        } catch (err) {
          this.o.logger.warn({ err: (err as Error).message }, "claiming a job failed; will retry");
        }
      }
      if (claimed) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.o.pollMs);
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private launch(job: JobRow, resumed: boolean): void {
    const abort = new AbortController();
    const done = this.run(job, resumed, abort).finally(() => {
      this.active.delete(job.id);
      this.notify();
    });
    this.active.set(job.id, { abort, done });
  }

  private async run(job: JobRow, resumed: boolean, abort: AbortController): Promise<void> {
    const { store, owner } = this.o;
    const logger = this.o.logger.child({ tenant: job.tenant, job: job.id, kind: job.kind });
    const stop = (why: StopReason["why"]) => {
      if (!abort.signal.aborted) abort.abort(new StopReason(why));
    };
    const beat = async () => {
      try {
        const r = await store.heartbeat(owner, job.id, this.o.leaseMs);
        if (r.cancel) stop("cancel");
      } catch (err) {
        if (err instanceof LeaseLostError) stop("lease-lost");
        else logger.warn({ err: (err as Error).message }, "heartbeat failed");
      }
    };
    const timer = setInterval(() => void beat(), this.o.heartbeatMs);
    const reporter = new ProgressReporter(
      store,
      owner,
      job.id,
      this.o.progressIntervalMs,
      logger,
      () => stop("lease-lost"),
    );
    const env: JobEnv = {
      signal: abort.signal,
      resumed,
      logger,
      report: (p, stage, metrics) => reporter.report(p, stage, metrics),
      pin: (p) =>
        reporter
          .flush()
          .then(() =>
            store.progress(
              owner,
              job.id,
              { progress: reporter.last, stage: reporter.stage, ...p },
              false,
            ),
          ),
      loadCheckpoint: () => store.loadCheckpoint(job.id),
      saveCheckpoint: (data) => store.saveCheckpoint(owner, job.id, data),
    };
    logger.info({ resumed }, resumed ? "resuming training job" : "starting training job");
    try {
      if (job.cancel_requested) throw new StopReason("cancel");
      const out = await this.o.execute(job, env);
      await reporter.flush();
      await store.end(owner, job.id, "succeeded", out);
      logger.info({ version: out.version }, "training job succeeded");
    } catch (err) {
      await reporter.flush().catch(() => {});
      const why = abort.signal.aborted ? (abort.signal.reason as StopReason).why : undefined;
      await this.settle(job, why, err, logger);
    } finally {
      clearInterval(timer);
    }
  }

  private async settle(
    job: JobRow,
    why: StopReason["why"] | undefined,
    err: unknown,
    logger: Logger,
  ): Promise<void> {
    const { store, owner } = this.o;
    try {
      if (why === "lease-lost" || err instanceof LeaseLostError) {
        logger.warn("lost the job's lease (another trainer holds it now); stopped");
      } else if (why === "shutdown") {
        await store.release(owner, job.id);
        logger.info("training job left for resumption at shutdown");
      } else if (why === "cancel") {
        await store.end(owner, job.id, "cancelled", {});
        logger.info("training job cancelled");
      } else {
        const error = err instanceof Error ? err.message : String(err);
        await store.end(owner, job.id, "failed", { error });
        logger.warn({ error }, "training job failed");
      }
    } catch (e) {
      logger.error({ err: (e as Error).message }, "recording the end of a training job failed");
    }
  }
}

/**
 * Coalesces progress: the newest report is written (and published) at most once per interval,
 * so a trainer reporting every step costs at most a couple of writes and events a second.
 */
class ProgressReporter {
  last = 0;
  stage = "";
  private metrics?: Record<string, number>;
  private dirty = false;
  private lastWrite = 0;
  private writing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: JobStore,
    private readonly owner: string,
    private readonly id: string,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly onLost: () => void,
  ) {}

  report(progress: number, stage: string, metrics?: Record<string, number>): void {
    this.last = progress;
    this.stage = stage;
    if (metrics) this.metrics = metrics;
    this.dirty = true;
    if (this.timer) return;
    const wait = Math.max(0, this.lastWrite + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, wait);
  }

  /** Writes what is pending now and waits for every write in flight. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.write();
  }

  private write(): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      this.lastWrite = Date.now();
      try {
        await this.store.progress(
          this.owner,
          this.id,
          { progress: this.last, stage: this.stage, metrics: this.metrics },
          true,
        );
      } catch (err) {
        if (err instanceof LeaseLostError) this.onLost();
        else this.logger.warn({ err: (err as Error).message }, "recording progress failed");
      }
    });
    return this.writing;
  }
}
