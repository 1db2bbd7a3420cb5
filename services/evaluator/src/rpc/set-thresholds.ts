import { create } from "@bufbuild/protobuf";
import { sql } from "@tailor/db";
import { METRIC_NAMES } from "@tailor/eval";
import {
  type SetThresholdsRequest,
  type SetThresholdsResponse,
  SetThresholdsResponseSchema,
} from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import type { EvaluatorContext } from "../context.js";
import { EvalSetStore, evalSetNotFound } from "../eval-set-store.js";
import { checkEvalSetName, checkTenant } from "../fields.js";
import { TRAINING_KINDS } from "../thresholds.js";

const MAX_SCHEDULE_MINUTES = 7 * 24 * 60;
const MAX_NEGATIVE_FEEDBACK = 1_000_000;

/** Replaces the tenant's thresholds; the first scheduled evaluation is one period from now. */
export async function setThresholds(
  ctx: EvaluatorContext,
  req: SetThresholdsRequest,
): Promise<SetThresholdsResponse> {
  checkTenant(req.tenant);
  const minimums: Record<string, number> = {};
  Object.entries(req.minimums).forEach(([name, min], n) => {
    // The key is named by its position: it may be anything a client sent.
    if (!(METRIC_NAMES as readonly string[]).includes(name))
      throw invalidArgument("minimums", `key ${n} must be one of ${METRIC_NAMES.join(", ")}`);
    if (!Number.isFinite(min) || min < 0 || min > 1)
      throw invalidArgument(`minimums[${name}]`, "must be in [0, 1]");
    minimums[name] = min;
  });
  if (req.negativeFeedback > MAX_NEGATIVE_FEEDBACK)
    throw invalidArgument("negative_feedback", `must be at most ${MAX_NEGATIVE_FEEDBACK}`);
  if (req.scheduleMinutes > MAX_SCHEDULE_MINUTES)
    throw invalidArgument("schedule_minutes", `must be at most ${MAX_SCHEDULE_MINUTES}`);
  if (req.kind && !(TRAINING_KINDS as readonly string[]).includes(req.kind))
    throw invalidArgument("kind", `must be one of ${TRAINING_KINDS.join(", ")} (or empty)`);
  if (req.evalSet) checkEvalSetName(req.evalSet);
  else if (Object.keys(minimums).length > 0 || req.scheduleMinutes > 0 || req.negativeFeedback > 0)
    throw invalidArgument("eval_set", "is required with minimums, a schedule or a feedback count");
  if (req.trainEvalSet) checkEvalSetName(req.trainEvalSet, "train_eval_set");
  if (req.trainEvalSet && req.trainEvalSet === req.evalSet)
    throw invalidArgument(
      "train_eval_set",
      "must differ from eval_set: a candidate is never judged on the queries it was trained on",
    );
  const store = new EvalSetStore(ctx.database);
  for (const name of [req.evalSet, req.trainEvalSet]) {
    if (name && !(await store.summary(req.tenant, name))) throw evalSetNotFound(name);
  }
  const row = {
    minimums,
    negative_feedback: req.negativeFeedback,
    eval_set: req.evalSet,
    train_eval_set: req.trainEvalSet,
    kind: req.kind,
    schedule_minutes: req.scheduleMinutes,
    next_run_at:
      req.scheduleMinutes > 0 ? new Date(Date.now() + req.scheduleMinutes * 60_000) : null,
  };
  await ctx.database.db
    .insertInto("thresholds")
    .values({ tenant: req.tenant, ...row })
    .onConflict((oc) => oc.column("tenant").doUpdateSet({ ...row, updated_at: sql`now()` }))
    .execute();
  ctx.logger.info(
    { tenant: req.tenant, evalSet: req.evalSet, scheduleMinutes: req.scheduleMinutes },
    "thresholds set",
  );
  return create(SetThresholdsResponseSchema, {});
}
