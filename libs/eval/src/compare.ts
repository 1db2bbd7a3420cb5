import { pairedPermutationTest } from "./stats.js";
import { type EvalResult, METRIC_NAMES, type MetricName } from "./trec-eval.js";

/** When a candidate may replace the champion. */
export interface GateSpec {
  /** The metric the candidate must improve (default `ndcg_cut_10`). */
  primary: MetricName;
  /** Least gain of the candidate's mean over the champion's on `primary` (default 0). */
  minGain: number;
  /** Two-sided p-value of the paired randomisation test on `primary` must be below this (default 0.05). */
  alpha: number;
  /** Largest drop of the mean allowed on every guarded metric (default 0.01). */
  tolerance: number;
  /** Metrics that must not drop beyond `tolerance` (default: every metric but `primary`). */
  guarded: MetricName[];
  /** Random sign assignments of the test (default 10,000). */
  rounds: number;
  /** Seed of the test, so a verdict is reproducible (default 0). */
  seed: number;
}

export const DEFAULT_GATE: GateSpec = {
  primary: "ndcg_cut_10",
  minGain: 0,
  alpha: 0.05,
  tolerance: 0.01,
  guarded: METRIC_NAMES.filter((m) => m !== "ndcg_cut_10"),
  rounds: 10_000,
  seed: 0,
};

export interface MetricComparison {
  metric: MetricName;
  champion: number;
  candidate: number;
  /** candidate − champion. */
  delta: number;
  /** Two-sided p-value of the paired randomisation test on the per-query values. */
  pValue: number;
}

export interface GateCheck {
  check: "min_gain" | "significance" | "no_regression";
  metric: MetricName;
  passed: boolean;
  /** One sentence with the figures, e.g. `ndcg_cut_10 gain +0.0210 ≥ minimum +0.0050`. */
  detail: string;
}

export interface Verdict {
  pass: boolean;
  /** Every check, passed or not, in the order they were made. */
  checks: GateCheck[];
}

export interface Comparison {
  /** The paired query ids, sorted. */
  queries: string[];
  metrics: MetricComparison[];
  gate: GateSpec;
  verdict: Verdict;
}

const signed = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(4)}`;

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Candidate vs champion on the same queries: per-metric means, paired randomisation tests and
 * the gate's verdict. Both results must cover exactly the same queries (evaluate both runs
 * against the same held-out qrels with `completeQueries`).
 */
export function compareSystems(
  champion: EvalResult,
  candidate: EvalResult,
  gate: Partial<GateSpec> = {},
): Comparison {
  const spec: GateSpec = { ...DEFAULT_GATE, ...gate };
  if (gate.primary !== undefined && gate.guarded === undefined) {
    spec.guarded = METRIC_NAMES.filter((m) => m !== spec.primary);
  }
  if (!(spec.alpha > 0 && spec.alpha <= 1)) throw new RangeError(`alpha must be in (0, 1]`);
  if (!(spec.tolerance >= 0)) throw new RangeError(`tolerance must be >= 0`);
  if (!Number.isFinite(spec.minGain)) throw new RangeError(`minGain must be finite`);
  const queries = [...champion.perQuery.keys()].sort(compareStrings);
  if (queries.length === 0) throw new RangeError("no queries to compare");
  const missing = queries.filter((q) => !candidate.perQuery.has(q)).length;
  if (missing > 0 || candidate.perQuery.size !== queries.length) {
    throw new RangeError(
      `candidate and champion were evaluated on different queries (${queries.length} vs ${candidate.perQuery.size}, ${missing} of the champion's missing)`,
    );
  }
  const metrics = METRIC_NAMES.map((metric): MetricComparison => {
    const a = queries.map((q) => candidate.perQuery.get(q)![metric]);
    const b = queries.map((q) => champion.perQuery.get(q)![metric]);
    const meanA = a.reduce((s, x) => s + x, 0) / a.length;
    const meanB = b.reduce((s, x) => s + x, 0) / b.length;
    const pValue = pairedPermutationTest(a, b, { rounds: spec.rounds, seed: spec.seed });
    return { metric, champion: meanB, candidate: meanA, delta: meanA - meanB, pValue };
  });
  const byName = new Map(metrics.map((m) => [m.metric, m]));
  const primary = byName.get(spec.primary)!;
  const checks: GateCheck[] = [];
  checks.push({
    check: "min_gain",
    metric: spec.primary,
    passed: primary.delta >= spec.minGain,
    detail: `${spec.primary} gain ${signed(primary.delta)} ${primary.delta >= spec.minGain ? "≥" : "<"} minimum ${signed(spec.minGain)}`,
  });
  checks.push({
    check: "significance",
    metric: spec.primary,
    passed: primary.pValue < spec.alpha,
    detail: `${spec.primary} p = ${primary.pValue.toFixed(4)} ${primary.pValue < spec.alpha ? "<" : "≥"} alpha ${spec.alpha}`,
  });
  for (const name of spec.guarded) {
    if (name === spec.primary) continue;
    const m = byName.get(name)!;
    const passed = m.delta >= -spec.tolerance;
    checks.push({
      check: "no_regression",
      metric: name,
      passed,
      detail: `${name} change ${signed(m.delta)} ${passed ? "within" : "beyond"} tolerance ${signed(-spec.tolerance)}`,
    });
  }
  return { queries, metrics, gate: spec, verdict: { pass: checks.every((c) => c.passed), checks } };
}
