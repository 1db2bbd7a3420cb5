import type { EvaluateResponse } from "@tailor/proto";
import { clientsFor } from "../clients.js";
import { parseCliConfig } from "../config.js";
import { EXIT } from "../errors.js";
import type { Globals } from "../program.js";

interface EvalOpts {
  tenant: string;
  evalset: string;
  version?: string;
  alias?: string;
  depth?: number;
}

/** `tailor eval`: EvaluatorService.Evaluate, the answer as JSON on stdout. */
export async function runEval(o: EvalOpts, g: Globals): Promise<number> {
  const r = await clientsFor(parseCliConfig(process.env), g.timeoutMs).evaluator.evaluate({
    tenant: o.tenant,
    evalSet: o.evalset,
    version: o.version ?? "",
    alias: o.alias ?? "",
    depth: o.depth ?? 0,
  });
  console.log(JSON.stringify(evalJson(r), null, 2));
  return EXIT.ok;
}

/**
 * The evaluation as printed: the exact version scored, the set, trec_eval's metric names with
 * the latency percentiles and query count beside them, the run and report ids.
 */
export function evalJson(r: EvaluateResponse): Record<string, unknown> {
  const m = r.metrics;
  const values = Object.fromEntries(
    Object.keys(m?.values ?? {})
      .sort()
      .map((k) => [k, m?.values[k]]),
  );
  return {
    version: r.version,
    eval_set: r.evalSet,
    metrics: {
      ...values,
      latency_p50_ms: m?.latencyP50Ms ?? 0,
      latency_p95_ms: m?.latencyP95Ms ?? 0,
      queries: m?.queries ?? 0,
    },
    run: r.run,
    report: r.report,
  };
}
