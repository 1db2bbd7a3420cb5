import { create } from "@bufbuild/protobuf";
import {
  type EvaluateRequest,
  type EvaluateResponse,
  EvaluateResponseSchema,
  MetricsSchema,
} from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import type { EvaluatorContext } from "../context.js";
import { runEvaluation } from "../evaluate.js";
import { checkAlias, checkEvalSetName, checkTenant, checkVersion } from "../fields.js";
import { checkDepth } from "./depth.js";

export async function evaluate(
  ctx: EvaluatorContext,
  req: EvaluateRequest,
  signal?: AbortSignal,
): Promise<EvaluateResponse> {
  checkTenant(req.tenant);
  checkEvalSetName(req.evalSet);
  if (req.version && req.alias)
    throw invalidArgument("version", "give a version or an alias, not both");
  if (req.version) checkVersion(req.version);
  if (req.alias) checkAlias(req.alias);
  const depth = checkDepth(req.depth);
  const out = await runEvaluation(ctx, {
    tenant: req.tenant,
    evalSet: req.evalSet,
    version: req.version,
    alias: req.alias,
    depth,
    trigger: "rpc",
    signal,
  });
  return create(EvaluateResponseSchema, {
    run: out.run,
    version: out.version,
    evalSet: out.evalSet,
    report: out.report,
    metrics: create(MetricsSchema, {
      values: out.metrics,
      latencyP50Ms: out.latencyP50Ms,
      latencyP95Ms: out.latencyP95Ms,
      queries: out.queries,
    }),
  });
}
