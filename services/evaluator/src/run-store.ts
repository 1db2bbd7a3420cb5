import type { Transaction } from "@tailor/db";
import { type ChartPoint, METRIC_NAMES, type Metrics, summariseLatency } from "@tailor/eval";
import type { EvaluatorDB } from "./db/schema.js";
import { versionNumber } from "./fields.js";
import type { Scored } from "./score.js";

/** Versions drawn in a report's chart at most (the newest ones). */
const CHART_VERSIONS = 30;

export interface RunRecord {
  id: string;
  tenant: string;
  version: string;
  evalSet: string;
  evalSetHash: string;
  depth: number;
  scored: Scored;
}

function pick(m: Metrics): Record<string, number> {
  return Object.fromEntries(METRIC_NAMES.map((k) => [k, m[k]]));
}

/** Mean metrics of a run, as stored and as published. */
export function meanMetrics(scored: Scored): Record<string, number> {
  return pick(scored.result.mean);
}

export function latency(scored: Scored): { p50: number; p95: number } {
  const s = summariseLatency(scored.latencyMs);
  return { p50: s?.p50 ?? 0, p95: s?.p95 ?? 0 };
}

/** Stores a run with its per-query values (the pairs a later paired test needs). */
export async function insertRun(trx: Transaction<EvaluatorDB>, r: RunRecord): Promise<void> {
  const { p50, p95 } = latency(r.scored);
  await trx
    .insertInto("runs")
    .values({
      id: r.id,
      tenant: r.tenant,
      version: r.version,
      eval_set: r.evalSet,
      eval_set_hash: r.evalSetHash,
      depth: r.depth,
      metrics: meanMetrics(r.scored),
      per_query: Object.fromEntries([...r.scored.result.perQuery].map(([q, m]) => [q, pick(m)])),
      latency_p50_ms: p50,
      latency_p95_ms: p95,
      queries: r.scored.result.numQueries,
    })
    .execute();
}

/**
 * The newest run of each of the tenant's versions on this eval set (same content), oldest
 * version first: the points of a report's chart.
 */
export async function versionHistory(
  trx: Transaction<EvaluatorDB>,
  tenant: string,
  evalSet: string,
  hash: string,
): Promise<ChartPoint[]> {
  const rows = await trx
    .selectFrom("runs")
    .select(["version", "metrics"])
    .distinctOn("version")
    .where("tenant", "=", tenant)
    .where("eval_set", "=", evalSet)
    .where("eval_set_hash", "=", hash)
    .orderBy("version")
    .orderBy("created_at", "desc")
    .execute();
  return rows
    .sort((a, b) => versionNumber(a.version) - versionNumber(b.version))
    .slice(-CHART_VERSIONS)
    .map((r) => ({ version: r.version, values: r.metrics as Partial<Metrics> }));
}
