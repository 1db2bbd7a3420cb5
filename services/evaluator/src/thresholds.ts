import { create } from "@bufbuild/protobuf";
import { Events } from "@tailor/bus";
import type { Database, Selectable, Transaction } from "@tailor/db";
import { EvalRegressedSchema, TrainingRequestedSchema } from "@tailor/proto";
import type { EvaluatorContext } from "./context.js";
import type { EvaluatorDB, ThresholdsTable } from "./db/schema.js";
import { enqueue } from "./outbox.js";

export type Thresholds = Selectable<ThresholdsTable>;

/** Training kinds the trainer knows; the default when a tenant named none. */
export const TRAINING_KINDS = ["reranker", "retrieval-params", "adapter", "all"] as const;
const DEFAULT_TRAINING_KIND = "reranker";

export async function getThresholds(
  database: Database<EvaluatorDB> | Transaction<EvaluatorDB>,
  tenant: string,
): Promise<Thresholds | undefined> {
  const db = "db" in database ? database.db : database;
  return db.selectFrom("thresholds").selectAll().where("tenant", "=", tenant).executeTakeFirst();
}

/** What fell below its minimum, one phrase each (e.g. `ndcg_cut_10 0.3100 < 0.3500`). */
export function belowMinimums(
  minimums: Readonly<Record<string, number>>,
  metrics: Readonly<Record<string, number>>,
): string[] {
  const out: string[] = [];
  for (const [name, min] of Object.entries(minimums).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const v = metrics[name];
    if (v !== undefined && v < min) out.push(`${name} ${v.toFixed(4)} < ${min.toFixed(4)}`);
  }
  return out;
}

export interface Regression {
  tenant: string;
  /** The prod version that regressed. */
  version: string;
  reason: string;
  metrics: Record<string, number>;
  thresholds: Thresholds;
  /** Deterministic from what triggered it, so a retried trigger asks for one training only. */
  requestId: string;
  /** False: publish eval.regressed only (a training was asked for this version recently). */
  requestTraining: boolean;
}

/**
 * eval.regressed and training.requested through the outbox, in the caller's transaction: the
 * trainer trains on the tenant's train set and the candidate is judged on its threshold set.
 */
export async function enqueueRegression(
  ctx: EvaluatorContext,
  trx: Transaction<EvaluatorDB>,
  r: Regression,
): Promise<void> {
  const s = ctx.bus.subjects;
  const th = r.thresholds;
  const kind = th.kind || DEFAULT_TRAINING_KIND;
  const heldout = th.eval_set;
  await enqueue(
    trx,
    s.eval(r.tenant, "regressed"),
    Events.evalRegressed,
    create(EvalRegressedSchema, {
      tenant: r.tenant,
      version: r.version,
      evalSet: heldout,
      reason: r.reason,
      metrics: r.metrics,
      kind,
      heldoutEvalSet: heldout,
    }),
    `eval-regressed-${r.requestId}`,
  );
  // Without a train set there is nothing to train on: training the candidate on the held-out
  // queries it is then judged on would pass any gate (the trainer refuses it too).
  if (!r.requestTraining || !th.train_eval_set || th.train_eval_set === heldout) return;
  await enqueue(
    trx,
    s.training(r.tenant, "requested"),
    Events.trainingRequested,
    create(TrainingRequestedSchema, {
      tenant: r.tenant,
      kind,
      evalSet: th.train_eval_set,
      baseVersion: r.version.includes("@") ? r.version : "",
      reason: r.reason,
      heldoutEvalSet: heldout,
      requestId: r.requestId,
      model: ctx.config.model,
    }),
    `training-requested-${r.requestId}`,
  );
  await trx
    .updateTable("thresholds")
    .set({ last_request_version: r.version, last_request_at: new Date() })
    .where("tenant", "=", r.tenant)
    .execute();
  // Negative feedback is counted since the last training request, whatever asked for it.
  await trx
    .updateTable("feedback_counts")
    .set({ negatives: 0 })
    .where("tenant", "=", r.tenant)
    .execute();
}
