import { sql } from "@tailor/db";
import type { EvaluatorContext } from "./context.js";
import { modelOf } from "./fields.js";
import { attachReport, promote, reject, resolveAlias } from "./registry.js";

/** A decision left in `deciding` this long is taken to be abandoned (its replica died). */
const ABANDONED_MS = 15 * 60_000;
/** The registry keeps reasons up to 4 KiB; a long list of checks is cut well below (≤ 3 bytes a char). */
const MAX_REASON = 1200;

export interface Decision {
  tenant: string;
  candidate: string;
  evalSet: string;
  report: string;
  verdict: "pass" | "fail";
  reasons: string[];
  canaryWeight: number;
  dryRun: boolean;
}

/**
 * Claims the right to decide on (candidate, eval set): `new` when this caller should decide,
 * `done` when a decision was already made (a redelivered model.trained), `busy` while another
 * replica is deciding.
 */
export async function claimDecision(
  ctx: EvaluatorContext,
  tenant: string,
  candidate: string,
  evalSet: string,
): Promise<"new" | "done" | "busy"> {
  const inserted = await ctx.database.db
    .insertInto("gate_decisions")
    .values({ tenant, candidate, eval_set: evalSet, state: "deciding" })
    .onConflict((oc) => oc.columns(["tenant", "candidate", "eval_set"]).doNothing())
    .returning("state")
    .executeTakeFirst();
  if (inserted) return "new";
  const taken = await ctx.database.db
    .updateTable("gate_decisions")
    .set({ updated_at: sql`now()` })
    .where("tenant", "=", tenant)
    .where("candidate", "=", candidate)
    .where("eval_set", "=", evalSet)
    .where("state", "=", "deciding")
    .where("updated_at", "<", new Date(Date.now() - ABANDONED_MS))
    .returning("state")
    .executeTakeFirst();
  if (taken) return "new";
  const row = await ctx.database.db
    .selectFrom("gate_decisions")
    .select("state")
    .where("tenant", "=", tenant)
    .where("candidate", "=", candidate)
    .where("eval_set", "=", evalSet)
    .executeTakeFirst();
  return row?.state === "deciding" ? "busy" : "done";
}

/** Lets another delivery decide after this one failed before deciding. */
export async function releaseDecision(
  ctx: EvaluatorContext,
  tenant: string,
  candidate: string,
  evalSet: string,
): Promise<void> {
  await ctx.database.db
    .deleteFrom("gate_decisions")
    .where("tenant", "=", tenant)
    .where("candidate", "=", candidate)
    .where("eval_set", "=", evalSet)
    .where("state", "=", "deciding")
    .execute();
}

async function record(
  ctx: EvaluatorContext,
  d: Decision,
  state: "soaking" | "done",
  action: string,
  promoteAt: Date | null,
): Promise<void> {
  await ctx.database.db
    .insertInto("gate_decisions")
    .values({
      tenant: d.tenant,
      candidate: d.candidate,
      eval_set: d.evalSet,
      state,
      report: d.report,
      verdict: d.verdict,
      action,
      canary_weight: d.canaryWeight,
      promote_at: promoteAt,
    })
    .onConflict((oc) =>
      oc.columns(["tenant", "candidate", "eval_set"]).doUpdateSet({
        state,
        report: d.report,
        verdict: d.verdict,
        action,
        canary_weight: d.canaryWeight,
        promote_at: promoteAt,
        updated_at: sql`now()`,
      }),
    )
    .execute();
}

/**
 * Tells the registry what the gate found: the report is attached to the candidate; a pass is
 * promoted to canary at its weight and then (at once, or after the soak) to prod; a fail is
 * rejected with the report. A dry run only attaches the report. Returns what was done.
 */
export async function decide(ctx: EvaluatorContext, d: Decision): Promise<string> {
  if (d.dryRun) {
    await attachReport(ctx, d.tenant, d.candidate, d.report).catch((err: unknown) =>
      ctx.logger.warn({ err, tenant: d.tenant, version: d.candidate }, "attaching report failed"),
    );
    return "none (dry run)";
  }
  await attachReport(ctx, d.tenant, d.candidate, d.report);
  const why =
    `${d.verdict === "pass" ? "gate passed" : "gate failed"} (report ${d.report}): ${d.reasons.join("; ")}`.slice(
      0,
      MAX_REASON,
    );
  if (d.verdict === "fail") {
    await reject(ctx, d.tenant, d.candidate, why, d.report);
    await record(ctx, d, "done", "rejected", null);
    return "rejected";
  }
  await promote(ctx, d.tenant, d.candidate, "canary", d.canaryWeight, why);
  const soak = ctx.config.canarySoakMs;
  if (soak > 0) {
    const action = `promoted to canary (weight ${d.canaryWeight}); prod after a ${soak} ms soak`;
    await record(ctx, d, "soaking", action, new Date(Date.now() + soak));
    return action;
  }
  await promote(ctx, d.tenant, d.candidate, "prod", 1, why);
  const action = `promoted to canary (weight ${d.canaryWeight}) and prod`;
  await record(ctx, d, "done", action, null);
  return action;
}

/**
 * Promotes to prod the candidates whose canary soak is over, unless their canary was moved or
 * rolled back meanwhile. Rows are locked with SKIP LOCKED, so one replica promotes each.
 */
export async function promoteSoaked(ctx: EvaluatorContext): Promise<number> {
  return ctx.database.transaction(async (trx) => {
    const due = await trx
      .selectFrom("gate_decisions")
      .selectAll()
      .where("state", "=", "soaking")
      .where("promote_at", "<=", new Date())
      .orderBy("promote_at")
      .limit(10)
      .forUpdate()
      .skipLocked()
      .execute();
    for (const d of due) {
      let action: string;
      const canary = await resolveAlias(ctx, d.tenant, "canary", modelOf(d.candidate)).catch(
        () => "",
      );
      if (canary !== d.candidate) {
        action = `${d.action ?? "promoted to canary"}; prod promotion skipped: canary no longer points at it`;
      } else {
        await promote(
          ctx,
          d.tenant,
          d.candidate,
          "prod",
          1,
          `canary soak passed (report ${d.report})`,
        );
        action = `promoted to canary (weight ${d.canary_weight}) and, after the soak, prod`;
      }
      await trx
        .updateTable("gate_decisions")
        .set({ state: "done", action, updated_at: sql`now()` })
        .where("tenant", "=", d.tenant)
        .where("candidate", "=", d.candidate)
        .where("eval_set", "=", d.eval_set)
        .execute();
      ctx.logger.info({ tenant: d.tenant, version: d.candidate, action }, "canary soak ended");
    }
    return due.length;
  });
}
