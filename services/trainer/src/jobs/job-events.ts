import { create } from "@bufbuild/protobuf";
import { Events, encodeEvent, type Subjects } from "@tailor/bus";
import type { Insertable } from "@tailor/db";
import { type ModelTrained, TrainingStatusSchema } from "@tailor/proto";
import type { JobStateName, OutboxTable } from "../db/schema.js";
import type { JobRow } from "./job-view.js";

/** `training.<tenant>.<kind>`: progress (queued and running too), succeeded, failed, cancelled. */
export type StatusKind = "progress" | Exclude<JobStateName, "queued" | "running">;

/** A TrainingStatus event of the job as it is now; its msg id is unique per revision. */
export function statusRow(
  subjects: Subjects,
  job: JobRow,
  kind: StatusKind,
): Insertable<OutboxTable> {
  const ev = create(TrainingStatusSchema, {
    tenant: job.tenant,
    job: job.id,
    kind: job.kind,
    state: job.state,
    progress: job.progress,
    stage: job.stage,
    version: job.version,
    error: job.error,
  });
  return {
    subject: subjects.training(job.tenant, kind),
    event_type: Events.trainingStatus.type,
    msg_id: `training:${job.id}:${job.revision}`,
    payload: Buffer.from(encodeEvent(Events.trainingStatus, ev)),
  };
}

/** `model.<tenant>.trained`: one per job (its msg id is the job's). */
export function trainedRow(
  subjects: Subjects,
  ev: ModelTrained,
  jobId: string,
): Insertable<OutboxTable> {
  return {
    subject: subjects.model(ev.tenant, "trained"),
    event_type: Events.modelTrained.type,
    msg_id: `trained:${jobId}`,
    payload: Buffer.from(encodeEvent(Events.modelTrained, ev)),
  };
}
