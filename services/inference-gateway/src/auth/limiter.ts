import { Code, ConnectError } from "@connectrpc/connect";
import { type Database, sql } from "@tailor/db";
import type { Logger } from "@tailor/telemetry";
import type { GatewayConfig } from "../config.js";
import type { GatewayDB } from "../db/schema.js";
import type { Caller, Limiter, Reservation } from "../types.js";
import type { KeyCache, KeyRecord } from "./key-cache.js";
import { type BudgetPeriod, periodEnd, periodKey } from "./limits.js";

// The database's clock, so that replicas with skewed clocks refill one bucket consistently.
const NOW_MS = sql<string>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export interface LimiterDeps {
  config: Pick<GatewayConfig, "limits">;
  database: Database<GatewayDB>;
  logger: Logger;
}

/** How often the usage of keys without a budget is written. */
const COUNT_FLUSH_MS = 1000;

/**
 * Rate limits and token budgets kept in PostgreSQL, so every replica counts against the same
 * bucket and budget. Each decision is one statement: the row lock of INSERT … ON CONFLICT DO
 * UPDATE serialises concurrent callers, and the WHERE of the update grants only what is there.
 */
export class PgLimiter implements Limiter {
  /** Usage of unlimited keys not yet written, by key and period. */
  private readonly unwritten = new Map<string, number>();
  private flushing: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: LimiterDeps,
    private readonly keys: KeyCache,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async admit(caller: Caller): Promise<void> {
    const key = await this.key(caller);
    const { requestsPerSecond: rate, burst } = key.limits;
    const refilled = sql<number>`least(${burst}::float8, b.tokens + greatest(0, excluded.updated_ms - b.updated_ms) * ${rate}::float8 / 1000)`;
    const granted = await sql<{ tokens: number }>`
      INSERT INTO rate_buckets AS b (key_id, tokens, updated_ms)
      VALUES (${key.id}, ${burst}::float8 - 1, ${NOW_MS})
      ON CONFLICT (key_id) DO UPDATE
        SET tokens = ${refilled} - 1, updated_ms = greatest(b.updated_ms, excluded.updated_ms)
        WHERE ${refilled} >= 1
      RETURNING tokens`.execute(this.deps.database.db);
    if (granted.rows.length > 0) return;
    // Only to say how long to wait: the decision above stands whatever this reads.
    const state = await sql<{ tokens: number; elapsed_ms: string }>`
      SELECT tokens, greatest(0, ${NOW_MS} - updated_ms) AS elapsed_ms
      FROM rate_buckets WHERE key_id = ${key.id}`.execute(this.deps.database.db);
    const row = state.rows[0];
    const have = row ? Math.min(burst, row.tokens + (Number(row.elapsed_ms) * rate) / 1000) : 0;
    const waitMs = Math.max(1, Math.ceil(((1 - have) / rate) * 1000));
    throw exhausted(
      `rate limit of key ${key.id} reached (${rate} requests/s, burst ${burst}): retry in ${(waitMs / 1000).toFixed(2)} s`,
      waitMs,
    );
  }

  async reserve(caller: Caller, maxTokens: number): Promise<Reservation> {
    if (!Number.isFinite(maxTokens) || maxTokens < 0)
      throw new RangeError(`maxTokens must be a finite number of tokens, not ${maxTokens}`);
    const key = await this.key(caller);
    const period = periodKey(this.clock(), this.deps.config.limits.budgetPeriod);
    const budget = key.limits.tokenBudget;
    // Unlimited: nothing to hold, only the usage to count (for `tailor keys list`).
    if (budget === 0) return new Settlement((used) => this.count(key.id, period, used));
    const hold = Math.max(1, Math.ceil(maxTokens));
    const held = await sql<{ used: string }>`
      INSERT INTO budgets AS g (key_id, period, used, reserved)
      SELECT ${key.id}, ${period}, 0, ${hold}::bigint WHERE ${hold}::bigint <= ${budget}::bigint
      ON CONFLICT (key_id, period) DO UPDATE
        SET reserved = g.reserved + excluded.reserved
        WHERE g.used + g.reserved + excluded.reserved <= ${budget}::bigint
      RETURNING used`.execute(this.deps.database.db);
    if (held.rows.length > 0)
      return new Settlement((used) => this.release(key.id, period, hold, used));
    throw await this.overBudget(key, period, hold);
  }

  private async key(caller: Caller): Promise<KeyRecord> {
    const key = await this.keys.get(caller.keyId);
    if (!key || key.revoked || key.tenant !== caller.tenant)
      throw new ConnectError(`the API key ${caller.keyId} is not valid`, Code.Unauthenticated);
    return key;
  }

  private async release(id: string, period: string, hold: number, used: number): Promise<void> {
    await sql`
      UPDATE budgets
      SET reserved = greatest(0, reserved - ${hold}::bigint), used = used + ${used}::bigint
      WHERE key_id = ${id} AND period = ${period}`.execute(this.deps.database.db);
  }

  /**
   * Usage of an unlimited key is only shown (`tailor keys list`), so it is summed here and
   * written once a second (and at close), not on every answer's path.
   */
  private count(id: string, period: string, used: number): Promise<void> {
    if (used === 0) return Promise.resolve();
    const k = `${id}\u0000${period}`;
    this.unwritten.set(k, (this.unwritten.get(k) ?? 0) + used);
    this.flushing ??= setTimeout(() => void this.flush(), COUNT_FLUSH_MS);
    this.flushing.unref();
    return Promise.resolve();
  }

  /** Writes the usage summed since the last write. */
  async flush(): Promise<void> {
    this.flushing = undefined;
    const rows = [...this.unwritten];
    this.unwritten.clear();
    for (const [k, used] of rows) {
      const [id, period] = k.split("\u0000") as [string, string];
      try {
        await sql`
          INSERT INTO budgets AS g (key_id, period, used, reserved) VALUES (${id}, ${period}, ${used}::bigint, 0)
          ON CONFLICT (key_id, period) DO UPDATE SET used = g.used + excluded.used`.execute(
          this.deps.database.db,
        );
      } catch (err) {
        // Kept for the next write rather than lost.
        this.unwritten.set(k, (this.unwritten.get(k) ?? 0) + used);
        this.deps.logger.warn({ err, keyId: id }, "token usage not written; retrying");
        this.flushing ??= setTimeout(() => void this.flush(), COUNT_FLUSH_MS);
        this.flushing.unref();
        return;
      }
    }
  }

  /** Writes what is left (at shutdown). */
  async close(): Promise<void> {
    if (this.flushing) clearTimeout(this.flushing);
    await this.flush();
  }

  private async overBudget(key: KeyRecord, period: string, hold: number): Promise<ConnectError> {
    const row = await this.deps.database.db
      .selectFrom("budgets")
      .select(["used", "reserved"])
      .where("key_id", "=", key.id)
      .where("period", "=", period)
      .executeTakeFirst();
    const used = Number(row?.used ?? 0);
    const reserved = Number(row?.reserved ?? 0);
    const budget = key.limits.tokenBudget;
    const kind: BudgetPeriod = this.deps.config.limits.budgetPeriod;
    const renews = periodEnd(this.clock(), kind);
    // Answers in flight will give back what they do not use: worth retrying soon.
    const soon = used + hold <= budget;
    const waitMs = soon ? 1000 : Math.max(1000, renews.getTime() - this.clock().getTime());
    const why =
      hold > budget
        ? `an answer of up to ${hold} tokens is more than the whole budget of ${budget} per ${kind}`
        : `token budget of key ${key.id} is spent for this ${kind} (${used} of ${budget} used, ${reserved} held by answers in progress, ${hold} more needed)`;
    return exhausted(
      soon ? `${why}: retry in a moment` : `${why}: it renews at ${renews.toISOString()}`,
      waitMs,
    );
  }
}

/** RESOURCE_EXHAUSTED that says when to come back, in the message and in `retry-after`. */
function exhausted(message: string, waitMs: number): ConnectError {
  return new ConnectError(message, Code.ResourceExhausted, {
    "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))),
    "retry-after-ms": String(Math.ceil(waitMs)),
  });
}

/** A hold on a budget, settled once: later calls return the first one's outcome. */
class Settlement implements Reservation {
  private settled: Promise<void> | undefined;

  constructor(private readonly apply: (used: number) => Promise<void>) {}

  settle(usedTokens: number): Promise<void> {
    const used = Number.isFinite(usedTokens) ? Math.max(0, Math.ceil(usedTokens)) : 0;
    // A failed write may be retried; a done one is never applied twice.
    this.settled ??= this.apply(used).catch((err: unknown) => {
      this.settled = undefined;
      throw err;
    });
    return this.settled;
  }
}
