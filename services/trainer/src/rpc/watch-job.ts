import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type WatchJobRequest, type WatchJobResponse, WatchJobResponseSchema } from "@tailor/proto";
import { toConnectError } from "@tailor/service";
import type { TrainerContext } from "../context.js";
import { isTerminal, toJob } from "../jobs/job-view.js";
import { checkJobId, checkTenant } from "../jobs/request.js";
import { jobNotFound } from "./errors.js";

const POLL_MS = 250;
/** A watch ends after this long even if the job has not (the client may watch again). */
const MAX_WATCH_MS = 6 * 3600_000;

/**
 * The job now, then every change until it ends. Polls the job's revision: one indexed read
 * per watcher every 250 ms, bounded in time, and stops when the client goes away.
 */
export async function* watchJob(
  ctx: TrainerContext,
  req: WatchJobRequest,
  signal: AbortSignal,
): AsyncGenerator<WatchJobResponse> {
  let tenant: string;
  let id: string;
  try {
    tenant = checkTenant(req.tenant);
    id = checkJobId(req.id);
  } catch (err) {
    throw toConnectError(err);
  }
  const deadline = Date.now() + MAX_WATCH_MS;
  let seen: string | undefined;
  for (;;) {
    const job = await ctx.store.get(tenant, id);
    if (!job) throw jobNotFound(id);
    if (job.revision !== seen) {
      seen = job.revision;
      yield create(WatchJobResponseSchema, { job: toJob(job) });
    }
    if (isTerminal(job.state)) return;
    if (Date.now() > deadline)
      throw new ConnectError("watch ended after 6 h; watch again to go on", Code.DeadlineExceeded);
    try {
      await sleep(POLL_MS, undefined, { signal });
    } catch {
      return;
    }
  }
}
