import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Events } from "@tailor/bus";
import { buildReport, type Comparison, renderMetricsChart, renderReport } from "@tailor/eval";
import { EvalCompletedSchema, type Gate } from "@tailor/proto";
import type { EvaluatorContext } from "./context.js";
import { EvalSetStore } from "./eval-set-store.js";
import { requireJudged, scoreVersion } from "./evaluate.js";
import { effectiveGate, gateSpec } from "./gate.js";
import { decide } from "./gate-actions.js";
import { enqueue } from "./outbox.js";
import { requireVersion, resolveProd } from "./registry.js";
import { insertReport } from "./report-store.js";
import { insertRun, meanMetrics, versionHistory } from "./run-store.js";

export interface CompareInput {
  tenant: string;
  evalSet: string;
  candidate: string;
  /** Empty: what prod points at. */
  champion: string;
  gate?: Gate;
  dryRun: boolean;
  depth: number;
  signal?: AbortSignal;
}

export interface CompareOutput {
  report: string;
  candidate: string;
  champion: string;
  comparison: Comparison;
  verdict: "pass" | "fail";
  reasons: string[];
  action: string;
}

/**
 * Candidate versus champion on the same judged queries: both scored, paired randomisation tests,
 * the gate's verdict, a stored report attached to the candidate; then, unless a dry run, the
 * registry is told: promote (canary, then prod) on pass, reject on fail.
 */
export async function runComparison(
  ctx: EvaluatorContext,
  i: CompareInput,
): Promise<CompareOutput> {
  const started = new Date();
  const stored = await new EvalSetStore(ctx.database).load(i.tenant, i.evalSet);
  requireJudged(stored);
  await requireVersion(ctx, i.tenant, i.candidate);
  let champion = i.champion;
  if (champion) await requireVersion(ctx, i.tenant, champion);
  else champion = await resolveProd(ctx, i.tenant, i.candidate);
  if (champion === i.candidate)
    throw new ConnectError(
      `candidate "${i.candidate}" is the champion itself; nothing to compare`,
      Code.FailedPrecondition,
    );
  const gate = effectiveGate(
    i.gate,
    ctx.config.gate,
    ctx.config.permutationRounds,
    stored.set.qrels.size,
  );
  // One after the other: the two versions share retrieval, and the latencies stay comparable.
  const champ = await scoreVersion(ctx, i.tenant, stored, champion, i.depth, i.signal);
  const cand = await scoreVersion(ctx, i.tenant, stored, i.candidate, i.depth, i.signal);
  const report = buildReport({
    evalSet: { name: stored.name, split: "judged", queries: cand.scored.result.numQueries },
    runs: [
      { version: champion, result: champ.scored.result, latencyMs: champ.scored.latencyMs },
      { version: i.candidate, result: cand.scored.result, latencyMs: cand.scored.latencyMs },
    ],
    champion,
    candidate: i.candidate,
    gate: gateSpec(gate),
    startedAt: started,
    finishedAt: new Date(),
  });
  const comparison = report.comparison!;
  const verdict = comparison.verdict.pass ? "pass" : "fail";
  const checks = comparison.verdict.checks;
  const reasons = (verdict === "pass" ? checks : checks.filter((c) => !c.passed)).map(
    (c) => `${c.check}: ${c.detail}`,
  );
  const reportId = randomUUID();
  const planned = i.dryRun
    ? "none (dry run)"
    : verdict === "pass"
      ? `promote to canary at weight ${gate.canaryWeight}, then prod`
      : "reject";
  const { markdown } = renderReport(report, { chartHref: `${reportId}.svg` });
  const runs = { champion: randomUUID(), candidate: randomUUID() };
  await ctx.database.transaction(async (trx) => {
    for (const [id, v] of [
      [runs.champion, champ],
      [runs.candidate, cand],
    ] as const)
      await insertRun(trx, {
        id,
        tenant: i.tenant,
        version: v.version,
        evalSet: stored.name,
        evalSetHash: stored.hash,
        depth: i.depth,
        scored: v.scored,
      });
    const history = await versionHistory(trx, i.tenant, stored.name, stored.hash);
    await insertReport(trx, {
      id: reportId,
      tenant: i.tenant,
      kind: "compare",
      markdown: `${markdown}\n## Action\n\n${planned}\n`,
      svg: renderMetricsChart(history, { title: `${stored.name}: metrics over versions` }),
      version: i.candidate,
      evalSet: stored.name,
      verdict,
    });
    await enqueue(
      trx,
      ctx.bus.subjects.eval(i.tenant, "completed"),
      Events.evalCompleted,
      create(EvalCompletedSchema, {
        tenant: i.tenant,
        run: runs.candidate,
        version: i.candidate,
        evalSet: stored.name,
        metrics: meanMetrics(cand.scored),
        championVersion: champion,
        verdict,
        report: reportId,
      }),
      `eval-completed-${runs.candidate}`,
    );
  });
  ctx.relay.notify();
  const action = await decide(ctx, {
    tenant: i.tenant,
    candidate: i.candidate,
    evalSet: stored.name,
    report: reportId,
    verdict,
    reasons,
    canaryWeight: gate.canaryWeight,
    dryRun: i.dryRun,
  });
  ctx.logger.info(
    { tenant: i.tenant, evalSet: stored.name, candidate: i.candidate, champion, verdict, action },
    "comparison decided",
  );
  return {
    report: reportId,
    candidate: i.candidate,
    champion,
    comparison,
    verdict,
    reasons,
    action,
  };
}
