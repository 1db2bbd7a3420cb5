import type { OutboxTable } from "@tailor/outbox";

export type { OutboxTable };

import type { Generated } from "@tailor/db";

export type JobStateName = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export interface JobsTable {
  id: string;
  tenant: string;
  kind: string;
  model: Generated<string>;
  eval_set: string;
  heldout_eval_set: Generated<string>;
  base_version: Generated<string>;
  /** uint64 as a decimal string (numeric(20,0)): JavaScript numbers cannot hold every seed. */
  seed: string;
  reason: Generated<string>;
  request_id: string | null;
  state: JobStateName;
  progress: Generated<number>;
  stage: Generated<string>;
  version: Generated<string>;
  error: Generated<string>;
  metrics: Generated<Record<string, number>>;
  resumes: Generated<number>;
  dataset_hash: Generated<string>;
  cancel_requested: Generated<boolean>;
  /** The trainer process running it, and until when its claim holds without a heartbeat. */
  lease_owner: string | null;
  lease_expires_at: Date | null;
  revision: Generated<string>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface CheckpointsTable {
  job_id: string;
  data: Buffer;
  updated_at: Generated<Date>;
}

export interface TrainerDB {
  jobs: JobsTable;
  checkpoints: CheckpointsTable;
  outbox: OutboxTable;
}
