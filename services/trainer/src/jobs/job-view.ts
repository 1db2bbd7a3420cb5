import { create } from "@bufbuild/protobuf";
import type { Selectable } from "@tailor/db";
import { type Job, JobSchema, JobState } from "@tailor/proto";
import type { JobStateName, JobsTable } from "../db/schema.js";

export type JobRow = Selectable<JobsTable>;

/** Job kinds the trainer runs. */
export const JOB_KINDS = [
  "reranker",
  "retrieval-params",
  "adapter",
  "all",
  "guard",
  "lora",
] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export function isJobKind(s: string): s is JobKind {
  return (JOB_KINDS as readonly string[]).includes(s);
}

export const TERMINAL: readonly JobStateName[] = ["succeeded", "failed", "cancelled"];

export function isTerminal(state: JobStateName): boolean {
  return TERMINAL.includes(state);
}

const STATE: Record<JobStateName, JobState> = {
  queued: JobState.QUEUED,
  running: JobState.RUNNING,
  succeeded: JobState.SUCCEEDED,
  failed: JobState.FAILED,
  cancelled: JobState.CANCELLED,
};

/** The RPC view of a job row (lease and cancel flags are internal). */
export function toJob(r: JobRow): Job {
  return create(JobSchema, {
    tenant: r.tenant,
    id: r.id,
    kind: r.kind,
    evalSet: r.eval_set,
    baseVersion: r.base_version,
    seed: BigInt(r.seed),
    state: STATE[r.state],
    progress: r.progress,
    stage: r.stage,
    version: r.version,
    error: r.error,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    metrics: r.metrics,
    heldoutEvalSet: r.heldout_eval_set,
    reason: r.reason,
    resumes: r.resumes,
    datasetHash: r.dataset_hash,
  });
}
