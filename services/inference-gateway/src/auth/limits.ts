import type { GatewayConfig } from "../config.js";

/** What a key may use, its own limits resolved against the gateway's defaults. */
export interface EffectiveLimits {
  requestsPerSecond: number;
  burst: number;
  /** Tokens per period; 0 = unlimited. */
  tokenBudget: number;
}

/** A key's stored limits: 0 in a field means the default. */
export interface StoredLimits {
  requests_per_second: number;
  burst: number;
  token_budget: string | number;
}

export function effectiveLimits(
  row: StoredLimits,
  defaults: GatewayConfig["limits"],
): EffectiveLimits {
  return {
    requestsPerSecond: row.requests_per_second || defaults.requestsPerSecond,
    burst: row.burst || defaults.burst,
    tokenBudget: Number(row.token_budget) || defaults.tokenBudget,
  };
}

export type BudgetPeriod = GatewayConfig["limits"]["budgetPeriod"];

/** The period `at` falls in, as the budgets table keys it: `2026-11` or `2026-11-30` (UTC). */
export function periodKey(at: Date, period: BudgetPeriod): string {
  const iso = at.toISOString();
  return period === "month" ? iso.slice(0, 7) : iso.slice(0, 10);
}

/** When the period holding `at` ends (the next one starts), UTC. */
export function periodEnd(at: Date, period: BudgetPeriod): Date {
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth();
  return period === "month"
    ? new Date(Date.UTC(y, m + 1, 1))
    : new Date(Date.UTC(y, m, at.getUTCDate() + 1));
}
