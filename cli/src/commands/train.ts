import { type Job, JobState } from "@tailor/proto";
import { printable } from "../args.js";
import { clientsFor } from "../clients.js";
import { parseCliConfig } from "../config.js";
import { CliError, EXIT, InterruptedError } from "../errors.js";
import { duration, JobProgress, stateName } from "../job-progress.js";
import { waitForJob } from "../job-wait.js";
import type { Globals } from "../program.js";

interface TrainOpts {
  tenant: string;
  kind: string;
  /** Absent for kind guard. */
  evalset?: string;
  heldout?: string;
  seed?: bigint;
  base?: string;
  reason?: string;
  wait: boolean;
  progress: boolean;
  json?: boolean;
}

const trainer = (g: Globals) => clientsFor(parseCliConfig(process.env), g.timeoutMs).trainer;

/** `tailor train`: StartTraining, then (unless --no-wait) WatchJob until the job ends. */
export async function runTrain(o: TrainOpts, g: Globals): Promise<number> {
  const client = trainer(g);
  const { job } = await client.startTraining({
    tenant: o.tenant,
    kind: o.kind,
    evalSet: o.evalset ?? "",
    heldoutEvalSet: o.heldout ?? "",
    baseVersion: o.base ?? "",
    seed: o.seed ?? 0n,
    reason: o.reason ?? "",
  });
  if (!job) throw new CliError("trainer: StartTraining answered without a job");
  if (!o.wait) {
    if (o.json) console.log(JSON.stringify(jobJson(job), null, 2));
    else {
      process.stderr.write(
        `job ${job.id} ${stateName(job.state)} — follow it: tailor train watch --tenant ${o.tenant} --job ${job.id}\n`,
      );
      console.log(job.id);
    }
    return EXIT.ok;
  }
  return follow(job, o, g);
}

/** `tailor train watch`: waits for a job as `train` does. */
export async function runWatch(
  o: { tenant: string; job: string; progress: boolean; json?: boolean },
  g: Globals,
): Promise<number> {
  const { job } = await trainer(g).getJob({ tenant: o.tenant, id: o.job });
  if (!job) throw new CliError(`trainer: no job ${o.job}`);
  return follow(job, o, g);
}

async function follow(
  first: Job,
  o: { tenant: string; progress: boolean; json?: boolean },
  g: Globals,
): Promise<number> {
  const started = Date.now();
  const progress = new JobProgress(process.stderr, o.progress);
  const stop = new AbortController();
  const hint = `job ${first.id} goes on running — follow it: tailor train watch --tenant ${o.tenant} --job ${first.id}; cancel it: tailor train cancel --tenant ${o.tenant} --job ${first.id}`;
  const onSigint = () => stop.abort(new InterruptedError(`stopped waiting; ${hint}`));
  process.once("SIGINT", onSigint);
  if (o.progress)
    process.stderr.write(
      `training ${first.kind}${onWhat(first)} as job ${first.id} (Ctrl-C stops waiting, not the job)\n`,
    );
  let job: Job;
  try {
    progress.update(first);
    job = await waitForJob(trainer(g), {
      tenant: o.tenant,
      id: first.id,
      signal: stop.signal,
      onUpdate: (j) => progress.update(j),
      onReconnect: (err) => {
        progress.stop();
        process.stderr.write(`tailor: lost the trainer (${err.message}); reconnecting…\n`);
      },
    });
  } finally {
    progress.stop();
    process.off("SIGINT", onSigint);
  }
  const result = jobResult(job, Date.now() - started);
  if (o.json) console.log(JSON.stringify(jobJson(job), null, 2));
  else for (const line of result.stdout) console.log(line);
  if (result.error) throw new CliError(result.error);
  return EXIT.ok;
}

/** " on eval set N", or nothing for a job that trains on no eval set (kind guard). */
function onWhat(job: Job): string {
  return job.evalSet ? ` on eval set ${job.evalSet}` : "";
}

/**
 * What a finished job prints: on success a summary, its metrics, and the version as the LAST
 * line (`tailor train … | tail -1`); otherwise the job's error.
 */
export function jobResult(job: Job, elapsedMs: number): { stdout: string[]; error?: string } {
  switch (job.state) {
    case JobState.SUCCEEDED: {
      if (!job.version)
        return { stdout: [], error: `training job ${job.id} succeeded but named no version` };
      const base = job.baseVersion ? `base ${job.baseVersion}, ` : "";
      const data = job.datasetHash ? `, dataset ${job.datasetHash.slice(0, 19)}` : "";
      const lines = [
        `job ${job.id} succeeded in ${duration(elapsedMs)}: ${job.kind}${onWhat(job)} (${base}seed ${job.seed}${data})`,
      ];
      const metrics = formatMetrics(job.metrics);
      if (metrics) lines.push(`metrics: ${metrics}`);
      lines.push(job.version);
      return { stdout: lines };
    }
    case JobState.FAILED:
      return {
        stdout: [],
        error: `training job ${job.id} failed: ${printable(job.error || "no reason given", 2000)}`,
      };
    case JobState.CANCELLED:
      return {
        stdout: [],
        error: `training job ${job.id} was cancelled${job.error ? `: ${printable(job.error, 2000)}` : ""}`,
      };
    default:
      return { stdout: [], error: `training job ${job.id} is ${stateName(job.state)}` };
  }
}

function formatMetrics(m: Record<string, number>): string {
  return Object.keys(m)
    .sort()
    .map((k) => `${printable(k, 60)}=${round(m[k] ?? 0)}`)
    .join(" ");
}

function round(n: number): number {
  return Number.isInteger(n) ? n : Number(n.toFixed(4));
}

/** The job as `--json` prints it: `job` (its id) and `version` first, then the Job's fields. */
export function jobJson(job: Job): Record<string, unknown> {
  return {
    job: job.id,
    version: job.version,
    state: stateName(job.state),
    kind: job.kind,
    evalSet: job.evalSet,
    heldoutEvalSet: job.heldoutEvalSet,
    baseVersion: job.baseVersion,
    seed: job.seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(job.seed) : job.seed.toString(),
    datasetHash: job.datasetHash,
    metrics: job.metrics,
    progress: job.progress,
    stage: job.stage,
    resumes: job.resumes,
    error: job.error,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
  };
}

export async function runCancel(
  o: { tenant: string; job: string; json?: boolean },
  g: Globals,
): Promise<number> {
  const { job } = await trainer(g).cancelJob({ tenant: o.tenant, id: o.job });
  if (!job) throw new CliError(`trainer: no job ${o.job}`);
  if (o.json) console.log(JSON.stringify(jobJson(job), null, 2));
  else console.log(`job ${job.id} ${stateName(job.state)}`);
  return EXIT.ok;
}

export async function runJobs(
  o: { tenant: string; limit: number; json?: boolean },
  g: Globals,
): Promise<number> {
  const { jobs } = await trainer(g).listJobs({ tenant: o.tenant, limit: o.limit });
  if (o.json) {
    console.log(JSON.stringify(jobs.map(jobJson), null, 2));
    return EXIT.ok;
  }
  if (jobs.length === 0) console.log(`no training jobs for tenant ${o.tenant}`);
  for (const j of jobs) {
    const outcome = j.version || (j.error ? printable(j.error, 80) : printable(j.stage, 80));
    console.log(
      `${j.createdAt.replace(/\.\d+/, "")}  ${j.id}  ${j.kind.padEnd(16)} ${stateName(j.state).padEnd(9)} ${String(Math.round(j.progress * 100)).padStart(3)}%  ${outcome}`,
    );
  }
  return EXIT.ok;
}
