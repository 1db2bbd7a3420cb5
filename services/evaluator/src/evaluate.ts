import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Events } from "@tailor/bus";
import { buildReport, renderMetricsChart, renderReport } from "@tailor/eval";
import { EvalCompletedSchema } from "@tailor/proto";
import type { EvaluatorContext } from "./context.js";
import { EvalSetStore, type StoredEvalSet } from "./eval-set-store.js";
import { enqueue } from "./outbox.js";
import { requireVersion, resolveAlias } from "./registry.js";
import { insertReport } from "./report-store.js";
import { insertRun, latency, meanMetrics, versionHistory } from "./run-store.js";
import { type Scored, scoreEvalSet } from "./score.js";
import { retrievalSearch } from "./search.js";
import { belowMinimums, enqueueRegression, getThresholds } from "./thresholds.js";

export interface EvaluateInput {
  tenant: string;
  evalSet: string;
  /** Exact version, or empty to resolve `alias`. */
  version: string;
  /** Empty with an empty version: prod. */
  alias: string;
  depth: number;
  /** rpc: a person asked; schedule: the tenant's scheduled evaluation. */
  trigger: "rpc" | "schedule";
  signal?: AbortSignal;
}

export interface EvaluateOutput {
  run: string;
  version: string;
  evalSet: string;
  metrics: Record<string, number>;
  latencyP50Ms: number;
  latencyP95Ms: number;
  queries: number;
  report: string;
  /** What fell below the tenant's minimums (empty when nothing did or none apply). */
  regressions: string[];
}

/** The judged queries of a stored set; FAILED_PRECONDITION when it has none. */
export function requireJudged(stored: StoredEvalSet): void {
  if (stored.set.qrels.size === 0)
    throw new ConnectError(
      `eval_set "${stored.name}" has no judged queries to evaluate`,
      Code.FailedPrecondition,
    );
}

/** Searches every judged query at one version; names the version that answered. */
export async function scoreVersion(
  ctx: EvaluatorContext,
  tenant: string,
  stored: StoredEvalSet,
  version: string,
  depth: number,
  signal?: AbortSignal,
): Promise<{ version: string; scored: Scored }> {
  const scored = await scoreEvalSet(stored.set, retrievalSearch(ctx, { tenant, version, depth }), {
    concurrency: ctx.config.concurrency,
    signal,
  });
  if (version) return { version, scored };
  // Searched without a version (tenant without a registry model): all answers must agree.
  if (scored.versions.size !== 1)
    throw new ConnectError(
      `retrieval answered at ${scored.versions.size} different versions during one evaluation; retry`,
      Code.Aborted,
    );
  return { version: [...scored.versions][0]!, scored };
}

interface Resolved {
  version: string;
  /** True when the version is what prod points at (the tenant's thresholds apply to it). */
  isProd: boolean;
}

async function resolve(ctx: EvaluatorContext, i: EvaluateInput): Promise<Resolved> {
  if (i.version) {
    await requireVersion(ctx, i.tenant, i.version);
    return { version: i.version, isProd: false };
  }
  const alias = i.alias || "prod";
  try {
    return { version: await resolveAlias(ctx, i.tenant, alias), isProd: alias === "prod" };
  } catch (err) {
    // No registry model yet: retrieval serves the tenant at its defaults, which is its prod (and
    // the first search writes them out as the base version, named in the answer).
    if (alias === "prod" && ConnectError.from(err).code === Code.NotFound)
      return { version: "", isProd: true };
    throw err;
  }
}

/** Is `version` what prod points at now? (Only asked when thresholds would apply.) */
async function isProdNow(ctx: EvaluatorContext, tenant: string, version: string) {
  try {
    return (await resolveAlias(ctx, tenant, "prod")) === version;
  } catch {
    return false;
  }
}

/**
 * Scores a version on an eval set, stores the run and its report, publishes eval.completed, and,
 * when the version is prod and the set is the tenant's threshold set, checks the minimums:
 * below them it publishes eval.regressed and training.requested (all through the outbox).
 */
export async function runEvaluation(
  ctx: EvaluatorContext,
  i: EvaluateInput,
): Promise<EvaluateOutput> {
  const started = new Date();
  const stored = await new EvalSetStore(ctx.database).load(i.tenant, i.evalSet);
  requireJudged(stored);
  const resolved = await resolve(ctx, i);
  const { version, scored } = await scoreVersion(
    ctx,
    i.tenant,
    stored,
    resolved.version,
    i.depth,
    i.signal,
  );
  const metrics = meanMetrics(scored);
  const th = await getThresholds(ctx.database, i.tenant);
  const applies =
    th !== undefined && th.eval_set === i.evalSet && Object.keys(th.minimums).length > 0;
  const regressions =
    applies && (resolved.isProd || (await isProdNow(ctx, i.tenant, version)))
      ? belowMinimums(th.minimums, metrics)
      : [];
  const run = randomUUID();
  const reportId = randomUUID();
  const report = buildReport({
    evalSet: { name: stored.name, split: "judged", queries: scored.result.numQueries },
    runs: [{ version, result: scored.result, latencyMs: scored.latencyMs }],
    startedAt: started,
    finishedAt: new Date(),
  });
  const { markdown } = renderReport(report, { chartHref: `${reportId}.svg` });
  await ctx.database.transaction(async (trx) => {
    await insertRun(trx, {
      id: run,
      tenant: i.tenant,
      version,
      evalSet: stored.name,
      evalSetHash: stored.hash,
      depth: i.depth,
      scored,
    });
    const history = await versionHistory(trx, i.tenant, stored.name, stored.hash);
    const svg = renderMetricsChart(history, { title: `${stored.name}: metrics over versions` });
    const regressedNote =
      regressions.length > 0
        ? `\n## Below the tenant's minimums\n\n${regressions.map((r) => `- ${r}`).join("\n")}\n`
        : "";
    await insertReport(trx, {
      id: reportId,
      tenant: i.tenant,
      kind: "evaluate",
      markdown: markdown + regressedNote,
      svg,
      version,
      evalSet: stored.name,
      verdict: "",
    });
    await enqueue(
      trx,
      ctx.bus.subjects.eval(i.tenant, "completed"),
      Events.evalCompleted,
      create(EvalCompletedSchema, {
        tenant: i.tenant,
        run,
        version,
        evalSet: stored.name,
        metrics,
        report: reportId,
      }),
      `eval-completed-${run}`,
    );
    if (regressions.length > 0 && th) {
      // A schedule finding the same prod version regressed again waits out the cooldown
      // rather than queueing training after training; a person asking always gets one.
      const recent =
        th.last_request_version === version &&
        th.last_request_at !== null &&
        Date.now() - th.last_request_at.getTime() < ctx.config.schedule.retrainCooldownMs;
      await enqueueRegression(ctx, trx, {
        tenant: i.tenant,
        version,
        reason: `${regressions.join("; ")} on ${stored.name} at ${version}`,
        metrics,
        thresholds: th,
        requestId: `run-${run}`,
        requestTraining: i.trigger === "rpc" || !recent,
      });
    }
  });
  ctx.relay.notify();
  const lat = latency(scored);
  ctx.logger.info(
    { tenant: i.tenant, evalSet: stored.name, version, run, queries: scored.result.numQueries },
    "evaluation stored",
  );
  return {
    run,
    version,
    evalSet: stored.name,
    metrics,
    latencyP50Ms: lat.p50,
    latencyP95Ms: lat.p95,
    queries: scored.result.numQueries,
    report: reportId,
    regressions,
  };
}
