import { create } from "@bufbuild/protobuf";
import {
  type CompareRequest,
  type CompareResponse,
  CompareResponseSchema,
  MetricComparisonSchema,
} from "@tailor/proto";
import { runComparison } from "../compare.js";
import type { EvaluatorContext } from "../context.js";
import { checkEvalSetName, checkTenant, checkVersion } from "../fields.js";
import { DEFAULT_DEPTH } from "./depth.js";

export async function compare(
  ctx: EvaluatorContext,
  req: CompareRequest,
  signal?: AbortSignal,
): Promise<CompareResponse> {
  checkTenant(req.tenant);
  checkEvalSetName(req.evalSet);
  checkVersion(req.candidateVersion, "candidate_version");
  if (req.championVersion) checkVersion(req.championVersion, "champion_version");
  const out = await runComparison(ctx, {
    tenant: req.tenant,
    evalSet: req.evalSet,
    candidate: req.candidateVersion,
    champion: req.championVersion,
    gate: req.gate,
    dryRun: req.dryRun,
    depth: DEFAULT_DEPTH,
    signal,
  });
  return create(CompareResponseSchema, {
    report: out.report,
    candidateVersion: out.candidate,
    championVersion: out.champion,
    metrics: out.comparison.metrics.map((m) =>
      create(MetricComparisonSchema, {
        metric: m.metric,
        candidate: m.candidate,
        champion: m.champion,
        delta: m.delta,
        pValue: m.pValue,
      }),
    ),
    verdict: out.verdict,
    reasons: out.reasons,
    action: out.action,
  });
}
