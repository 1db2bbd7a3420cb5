import { Code, ConnectError } from "@connectrpc/connect";
import { DurableConsumer, decodeEvent, Events, type JsMsg, PoisonMessageError } from "@tailor/bus";
import { sql } from "@tailor/db";
import type { EvaluatorContext } from "./context.js";
import { resolveAlias } from "./registry.js";
import { enqueueRegression, getThresholds } from "./thresholds.js";

export function createFeedbackConsumer(ctx: EvaluatorContext): DurableConsumer {
  return new DurableConsumer(ctx.bus, {
    stream: "FEEDBACK",
    durable: "evaluator",
    filterSubject: `${ctx.bus.subjects.subjectPrefix}feedback.*.received`,
    maxDeliver: ctx.config.consumer.maxDeliver,
    // One at a time: counting relies on the stream order of sequences.
    concurrency: 1,
    logger: ctx.logger,
  });
}

/** prod now, or the version the feedback was given on when the tenant has no registry model. */
async function prodVersion(ctx: EvaluatorContext, tenant: string, fallback: string) {
  try {
    return await resolveAlias(ctx, tenant, "prod");
  } catch (err) {
    if (ConnectError.from(err).code === Code.NotFound) return fallback;
    throw err;
  }
}

/**
 * Counts negative ratings per tenant since its last training request; at the tenant's
 * `negative_feedback` threshold, publishes eval.regressed and training.requested and starts
 * counting again. A redelivered message (same stream sequence) is not counted twice.
 */
export async function handleFeedback(ctx: EvaluatorContext, m: JsMsg): Promise<void> {
  const ev = decodeEvent(Events.feedbackReceived, m);
  ctx.bus.subjects.requireSubjectTenant(m.subject, "feedback", ev.tenant);
  if (!Number.isFinite(ev.rating) || ev.rating < -1 || ev.rating > 1)
    throw new PoisonMessageError("rating must be a number in [-1, 1]");
  if (ev.rating >= 0) return;
  const seq = String(m.seq);
  const th = await getThresholds(ctx.database, ev.tenant);
  const limit = th?.negative_feedback ?? 0;
  const version = limit > 0 ? await prodVersion(ctx, ev.tenant, ev.version) : "";
  await ctx.database.transaction(async (trx) => {
    const counted = await trx
      .insertInto("feedback_counts")
      .values({ tenant: ev.tenant, negatives: 1, last_seq: seq })
      .onConflict((oc) =>
        oc
          .column("tenant")
          .doUpdateSet({ negatives: sql`feedback_counts.negatives + 1`, last_seq: seq })
          .where("feedback_counts.last_seq", "<", seq),
      )
      .returning("negatives")
      .executeTakeFirst();
    if (!counted || !th || limit === 0 || counted.negatives < limit) return;
    await enqueueRegression(ctx, trx, {
      tenant: ev.tenant,
      version,
      reason: `${counted.negatives} negative feedback since the last training request${version ? ` (prod ${version})` : ""}`,
      metrics: {},
      thresholds: th,
      requestId: `feedback-${seq}`,
      requestTraining: true,
    });
  });
  ctx.relay.notify();
}
