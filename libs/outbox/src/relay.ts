import { type Bus, deadLetterRecord, publishErrorKind } from "@tailor/bus";
import type { Database, Generated, Selectable } from "@tailor/db";
import type { Logger } from "@tailor/telemetry";

const BATCH = 500;

/**
 * A service's transactional outbox: rows written in the same transaction as the state change
 * they announce, published in commit order by {@link OutboxRelay}.
 */
export interface OutboxTable {
  id: Generated<string>;
  subject: string;
  event_type: string;
  msg_id: string;
  payload: Buffer;
  created_at: Generated<Date>;
  /** Publishes that failed for this row alone; at the limit it is dead-lettered. */
  attempts: Generated<number>;
}

/** The part of a service's schema the relay reads. */
export interface OutboxDB {
  outbox: OutboxTable;
}

export interface RelayOptions {
  /** The service whose outbox it is: the events' `ce-source` is `/tailor/<service>`. */
  service: string;
  /** Publishes a row may fail on its own before it is dead-lettered. */
  maxAttempts: number;
  /** After this long without progress the relay reports itself unhealthy. */
  stallMs: number;
  pollMs?: number;
}

/** Told whenever the relay starts or stops making progress, with the reason. */
export type RelayHealthListener = (healthy: boolean, reason: string) => void;

/** A round in which rows were waiting and none could be published or dead-lettered. */
export class RelayStalledError extends Error {
  override readonly name = "RelayStalledError";
  readonly code = "relay_stalled";
}

interface BatchResult {
  selected: number;
  /** Rows that left the outbox (published or dead-lettered). */
  done: number;
  /** Why rows stayed, when some did. */
  problem?: string;
}

/**
 * Publishes outbox rows in commit order and deletes them once the stream has acknowledged them.
 * Rows are locked with SKIP LOCKED so replicas share the work; the message ids make a republish
 * after a crash harmless. A row that can never be published (bad header, too large) is moved to
 * the dead-letter stream with the reason, so the rows behind it, of every tenant, move on.
 */
export class OutboxRelay<DB extends OutboxDB = OutboxDB> {
  private readonly database: Database<OutboxDB>;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private failures = 0;
  private stalledSince?: number;
  private healthy = true;
  private readonly listeners = new Set<RelayHealthListener>();

  constructor(
    database: Database<DB>,
    private readonly bus: Bus,
    private readonly logger: Logger,
    private readonly o: RelayOptions,
  ) {
    // Each service's schema holds an `outbox` table of this shape (and tables of its own).
    // Kysely's types are invariant in the schema; the relay touches only the outbox table.
    this.database = database as unknown as Database<OutboxDB>;
  }

  start(): void {
    this.schedule(0);
  }

  /** Wakes the relay now (called after a commit that wrote rows). */
  notify(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** False while the relay has been unable to make progress for longer than `stallMs`. */
  get isHealthy(): boolean {
    return this.healthy;
  }

  /** Subscribes to health changes; returns the unsubscribe function. */
  onHealth(listener: RelayHealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Publishes until the outbox is empty or only rows that failed this time are left; returns
   * how many rows left the outbox. Throws RelayStalledError when rows wait and none could go.
   */
  async drain(): Promise<number> {
    let total = 0;
    while (true) {
      const r = await this.publishBatch();
      total += r.done;
      if (r.selected > 0 && r.done === 0)
        throw new RelayStalledError(r.problem ?? "no row published");
      if (r.selected < BATCH || r.done < r.selected) return total;
    }
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.round().finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.schedule(0);
        } else {
          this.schedule(
            this.failures > 0
              ? Math.min(30_000, 500 * 2 ** this.failures)
              : (this.o.pollMs ?? 1000),
          );
        }
      });
    }, ms);
  }

  private async round(): Promise<void> {
    try {
      await this.drain();
      this.failures = 0;
      this.stalledSince = undefined;
      this.setHealthy(true, "outbox publishing again");
    } catch (err) {
      this.failures++;
      const reason = (err as Error).message;
      this.stalledSince ??= Date.now();
      const stalledMs = Date.now() - this.stalledSince;
      this.logger.warn(
        { reason, failures: this.failures, stalledMs },
        "outbox publish failed; will retry",
      );
      if (stalledMs >= this.o.stallMs)
        this.setHealthy(
          false,
          `outbox relay has made no progress for ${Math.round(stalledMs / 1000)} s: ${reason}`,
        );
    }
  }

  private setHealthy(healthy: boolean, reason: string): void {
    if (this.healthy === healthy) return;
    this.healthy = healthy;
    if (healthy) this.logger.info({ reason }, "outbox relay recovered");
    else this.logger.error({ reason }, "outbox relay stalled");
    for (const l of this.listeners) l(healthy, reason);
  }

  private async publishBatch(): Promise<BatchResult> {
    return this.database.transaction(async (trx) => {
      const rows = await trx
        .selectFrom("outbox")
        .selectAll()
        .orderBy("id")
        .limit(BATCH)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return { selected: 0, done: 0 };
      // Publishes are pipelined on one connection, so the stream keeps the rows' order.
      const settled = await Promise.allSettled(
        rows.map((r) =>
          this.bus.publishRaw(r.subject, r.payload, {
            id: r.msg_id,
            type: r.event_type,
            source: `/tailor/${this.o.service}`,
            contentType: "application/protobuf",
          }),
        ),
      );
      const anyPublished = settled.some((s) => s.status === "fulfilled");
      const gone: string[] = [];
      const retry: string[] = [];
      let problem: string | undefined;
      for (const [i, s] of settled.entries()) {
        const row = rows[i]!;
        if (s.status === "fulfilled") {
          gone.push(row.id);
          continue;
        }
        const kind = publishErrorKind(s.reason);
        const message = (s.reason as Error)?.message ?? String(s.reason);
        problem ??= message;
        // A transient error that every row met is the server's or the connection's, not the row's.
        if (kind === "transient" && !anyPublished) continue;
        const attempts = row.attempts + 1;
        if (kind === "permanent" || attempts >= this.o.maxAttempts) {
          const why =
            kind === "permanent"
              ? `poison: the bus refused the event: ${message}`
              : `failed ${attempts} publishes: ${message}`;
          if (await this.deadLetter(row, why, attempts)) gone.push(row.id);
        } else retry.push(row.id);
      }
      if (gone.length > 0) await trx.deleteFrom("outbox").where("id", "in", gone).execute();
      if (retry.length > 0)
        await trx
          .updateTable("outbox")
          .set((eb) => ({ attempts: eb("attempts", "+", 1) }))
          .where("id", "in", retry)
          .execute();
      return { selected: rows.length, done: gone.length, problem };
    });
  }

  /** Moves a row to the dead-letter stream; false when even that failed (the row stays). */
  private async deadLetter(
    row: Selectable<OutboxTable>,
    reason: string,
    attempts: number,
  ): Promise<boolean> {
    try {
      await deadLetterRecord(this.bus, {
        subject: row.subject,
        data: row.payload,
        reason,
        origin: `${this.o.service}-outbox`,
        key: `${row.id}:${row.msg_id}`,
        type: row.event_type,
        attempts,
      });
      this.logger.warn(
        { subject: row.subject, outboxId: row.id, reason },
        "outbox row dead-lettered",
      );
      return true;
    } catch (err) {
      this.logger.error({ err, outboxId: row.id }, "dead-lettering an outbox row failed");
      return false;
    }
  }
}
