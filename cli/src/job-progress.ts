import { type Job, JobState } from "@tailor/proto";
import { printable } from "./args.js";

/** `JobState.SUCCEEDED` → `succeeded`. */
export function stateName(state: JobState): string {
  switch (state) {
    case JobState.QUEUED:
      return "queued";
    case JobState.RUNNING:
      return "running";
    case JobState.SUCCEEDED:
      return "succeeded";
    case JobState.FAILED:
      return "failed";
    case JobState.CANCELLED:
      return "cancelled";
    case JobState.UNSPECIFIED:
      return "unknown";
    default: {
      const never: never = state;
      return `state ${String(never)}`;
    }
  }
}

export function isTerminal(state: JobState): boolean {
  return state === JobState.SUCCEEDED || state === JobState.FAILED || state === JobState.CANCELLED;
}

/** 0..1; anything else the trainer might send is clamped rather than drawn off the bar. */
function fraction(job: Job): number {
  return Number.isFinite(job.progress) ? Math.min(1, Math.max(0, job.progress)) : 0;
}

/** `65 s` → `1m05s`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function percent(job: Job): string {
  return `${Math.floor(fraction(job) * 100)}%`.padStart(4);
}

/** One progress line for a log: `job J running  42% adapter epoch 3/20 (1m05s)`. */
export function progressLine(job: Job, elapsedMs: number): string {
  const stage = job.stage ? ` ${printable(job.stage, 80)}` : "";
  return `job ${job.id} ${stateName(job.state)} ${percent(job).trim()}${stage} (${duration(elapsedMs)})`;
}

/** The bar drawn on a terminal, at most `columns` wide: `[#####-----]  42% running  stage  1m05s`. */
export function progressBar(job: Job, elapsedMs: number, columns: number): string {
  const width = Math.max(10, Math.min(30, columns - 50));
  const filled = Math.round(fraction(job) * width);
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  const line = `${bar} ${percent(job)} ${stateName(job.state)}  ${printable(job.stage, 80)}  ${duration(elapsedMs)}`;
  return line.length > columns - 1 ? `${line.slice(0, Math.max(0, columns - 2))}…` : line;
}

/** Where progress goes: stderr, or a test's stand-in. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

/**
 * Progress of a job on stderr: a bar redrawn in place on a terminal (at most 10 times a second),
 * plain lines otherwise (on a change of state or stage, or every 10 points, at most 2 a second).
 */
export class JobProgress {
  private readonly started: number;
  private last = 0;
  private drawn = false;
  private lastKey = "";

  constructor(
    private readonly out: ProgressStream,
    private readonly enabled: boolean,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  update(job: Job): void {
    if (!this.enabled) return;
    const t = this.now();
    const elapsed = t - this.started;
    if (this.out.isTTY) {
      if (this.drawn && t - this.last < 100 && !isTerminal(job.state)) return;
      // A terminal that reports no width (0 under some pseudo-terminals) gets the classic 80.
      const columns = (this.out.columns ?? 0) >= 20 ? (this.out.columns as number) : 80;
      this.out.write(`\r\x1b[K${progressBar(job, elapsed, columns)}`);
      this.drawn = true;
      this.last = t;
      return;
    }
    // A log line only for news: state, stage, or ten more points of progress.
    const key = `${job.state}|${job.stage}|${Math.floor(fraction(job) * 10)}`;
    const changedState = !this.lastKey.startsWith(`${job.state}|`);
    if (key === this.lastKey) return;
    if (!changedState && t - this.last < 500) return;
    this.out.write(`${progressLine(job, elapsed)}\n`);
    this.lastKey = key;
    this.last = t;
  }

  /** Ends the bar's line, so what follows starts on a fresh one. */
  stop(): void {
    if (this.drawn) this.out.write("\n");
    this.drawn = false;
  }
}
