import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type StartTrainingRequest,
  type StartTrainingResponse,
  StartTrainingResponseSchema,
} from "@tailor/proto";
import type { TrainerContext } from "../context.js";
import { toJob } from "../jobs/job-view.js";
import { checkTrainingRequest, modelOfKind } from "../jobs/request.js";
import { guarded } from "./errors.js";

/**
 * Queues a training job. The eval set is looked up first so that a wrong name or a set with
 * nothing to train on (no judged query; for kind lora, no query) is refused now, with its name,
 * rather than failing a job later.
 */
export function startTraining(
  ctx: TrainerContext,
  req: StartTrainingRequest,
  signal?: AbortSignal,
): Promise<StartTrainingResponse> {
  return guarded(async () => {
    const n = checkTrainingRequest({ ...req, model: modelOfKind(req.kind) });
    // A repeated request id answers with the job the first call queued, whatever changed since.
    const seen = n.requestId ? await ctx.store.byRequestId(n.tenant, n.requestId) : undefined;
    if (seen) return create(StartTrainingResponseSchema, { job: toJob(seen) });
    if (n.evalSet)
      await checkEvalSets(ctx, n.tenant, n.evalSet, n.heldoutEvalSet, n.kind === "lora", signal);
    const { job, created } = await ctx.store.create(n);
    if (created) ctx.wake();
    return create(StartTrainingResponseSchema, { job: toJob(job) });
  });
}

async function checkEvalSets(
  ctx: TrainerContext,
  tenant: string,
  evalSet: string,
  heldout: string,
  answers: boolean,
  signal?: AbortSignal,
): Promise<void> {
  const set = await ctx.remote.getEvalSet(tenant, evalSet, true, signal).catch((err: unknown) => {
    throw named(err, "eval_set", evalSet);
  });
  // A lora job learns from answers, not judgments; the job itself counts the answered queries.
  if (answers && set.queryCount === 0)
    throw new ConnectError(
      `eval_set: ${evalSet} has no query (nothing to train on)`,
      Code.FailedPrecondition,
    );
  if (!answers && set.judgedQueryCount === 0)
    throw new ConnectError(
      `eval_set: ${evalSet} has no judged query (nothing to train on)`,
      Code.FailedPrecondition,
    );
  if (heldout)
    await ctx.remote.getEvalSet(tenant, heldout, true, signal).catch((err: unknown) => {
      throw named(err, "heldout_eval_set", heldout);
    });
}

function named(err: unknown, field: string, name: string): unknown {
  const ce = ConnectError.from(err);
  if (ce.code === Code.NotFound)
    return new ConnectError(`${field}: eval set ${name} not found`, Code.NotFound);
  if (ce.code === Code.InvalidArgument)
    return new ConnectError(`${field}: ${ce.rawMessage}`, Code.InvalidArgument);
  return new ConnectError(
    `${field}: the evaluator could not be asked about ${name} (${Code[ce.code]})`,
    Code.Unavailable,
  );
}
