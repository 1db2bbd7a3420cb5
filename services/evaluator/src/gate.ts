import { type GateSpec, METRIC_NAMES, type MetricName } from "@tailor/eval";
import type { Gate } from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import type { GateDefaults } from "./config.js";

/** The gate of one comparison, with the defaults filled in. */
export interface EffectiveGate extends GateDefaults {
  rounds: number;
}

/** Work of the paired tests (rounds × queries × metrics) above which rounds are lowered. */
const TEST_BUDGET = 200_000_000;
const MIN_ROUNDS = 1000;

function isMetric(name: string): name is MetricName {
  return (METRIC_NAMES as readonly string[]).includes(name);
}

/**
 * A request's gate over the service defaults. Proto3 cannot tell 0 from unset, so 0 means
 * "the default" for every field (a gate that really wants no minimum gain says so with a tiny
 * negative min_gain).
 */
export function effectiveGate(
  gate: Gate | undefined,
  defaults: GateDefaults,
  configuredRounds: number,
  queries: number,
): EffectiveGate {
  const g = gate ?? { primaryMetric: "", minGain: 0, maxPValue: 0, tolerance: 0, canaryWeight: 0 };
  let primaryMetric = defaults.primaryMetric;
  if (g.primaryMetric !== "") {
    if (!isMetric(g.primaryMetric))
      throw invalidArgument("gate.primary_metric", `must be one of ${METRIC_NAMES.join(", ")}`);
    primaryMetric = g.primaryMetric;
  }
  const field = (
    name: string,
    v: number,
    ok: (x: number) => boolean,
    rule: string,
    def: number,
  ) => {
    if (v === 0) return def;
    if (!Number.isFinite(v) || !ok(v)) throw invalidArgument(`gate.${name}`, rule);
    return v;
  };
  const rounds = Math.min(
    configuredRounds,
    Math.max(MIN_ROUNDS, Math.floor(TEST_BUDGET / (Math.max(1, queries) * METRIC_NAMES.length))),
  );
  return {
    primaryMetric,
    minGain: field(
      "min_gain",
      g.minGain,
      (x) => x >= -1 && x <= 1,
      "must be in [-1, 1]",
      defaults.minGain,
    ),
    maxPValue: field(
      "max_p_value",
      g.maxPValue,
      (x) => x > 0 && x <= 1,
      "must be in (0, 1]",
      defaults.maxPValue,
    ),
    tolerance: field(
      "tolerance",
      g.tolerance,
      (x) => x > 0 && x <= 1,
      "must be in [0, 1]",
      defaults.tolerance,
    ),
    canaryWeight: field(
      "canary_weight",
      g.canaryWeight,
      (x) => x > 0 && x <= 1,
      "must be in (0, 1]",
      defaults.canaryWeight,
    ),
    rounds,
  };
}

/** The libs/eval gate spec: every other metric is guarded within the tolerance. */
export function gateSpec(g: EffectiveGate): Partial<GateSpec> {
  return {
    primary: g.primaryMetric,
    minGain: g.minGain,
    alpha: g.maxPValue,
    tolerance: g.tolerance,
    guarded: METRIC_NAMES.filter((m) => m !== g.primaryMetric),
    rounds: g.rounds,
    seed: 0,
  };
}
