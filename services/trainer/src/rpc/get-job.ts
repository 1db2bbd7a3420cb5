import { create } from "@bufbuild/protobuf";
import {
  type CancelJobRequest,
  type CancelJobResponse,
  CancelJobResponseSchema,
  type GetJobRequest,
  type GetJobResponse,
  GetJobResponseSchema,
  type ListJobsRequest,
  type ListJobsResponse,
  ListJobsResponseSchema,
} from "@tailor/proto";
import { FieldError } from "@tailor/service";
import type { TrainerContext } from "../context.js";
import { toJob } from "../jobs/job-view.js";
import { checkJobId, checkTenant } from "../jobs/request.js";
import { guarded, jobNotFound } from "./errors.js";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

export function getJob(ctx: TrainerContext, req: GetJobRequest): Promise<GetJobResponse> {
  return guarded(async () => {
    const tenant = checkTenant(req.tenant);
    const id = checkJobId(req.id);
    const job = await ctx.store.get(tenant, id);
    if (!job) throw jobNotFound(id);
    return create(GetJobResponseSchema, { job: toJob(job) });
  });
}

export function listJobs(ctx: TrainerContext, req: ListJobsRequest): Promise<ListJobsResponse> {
  return guarded(async () => {
    const tenant = checkTenant(req.tenant);
    if (req.limit > MAX_LIMIT) throw new FieldError("limit", `must be at most ${MAX_LIMIT}`);
    const jobs = await ctx.store.list(tenant, req.limit || DEFAULT_LIMIT);
    return create(ListJobsResponseSchema, { jobs: jobs.map(toJob) });
  });
}

/** Cancels at once when queued; a running job stops at its next checkpoint boundary. */
export function cancelJob(ctx: TrainerContext, req: CancelJobRequest): Promise<CancelJobResponse> {
  return guarded(async () => {
    const tenant = checkTenant(req.tenant);
    const id = checkJobId(req.id);
    const job = await ctx.store.cancel(tenant, id);
    if (!job) throw jobNotFound(id);
    return create(CancelJobResponseSchema, { job: toJob(job) });
  });
}
