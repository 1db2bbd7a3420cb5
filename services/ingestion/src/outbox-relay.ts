import type { Bus } from "@tailor/bus";
import type { Database } from "@tailor/db";
import type { Logger } from "@tailor/telemetry";
import type { IngestionDB } from "./db/schema.js";

const BATCH = 500;

/**
 * Publishes outbox rows in commit order and deletes them once the stream has acknowledged them.
 * Rows are locked with SKIP LOCKED so replicas share the work; a failure leaves them for the next
 * round, and the message ids make a republish after a crash harmless.
 */
export class OutboxRelay {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private failures = 0;

  constructor(
    private readonly database: Database<IngestionDB>,
    private readonly bus: Bus,
    private readonly logger: Logger,
    private readonly pollMs = 1000,
  ) {}

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

  /** Publishes until the outbox is empty; returns how many rows went out. */
  async drain(): Promise<number> {
    let total = 0;
    while (true) {
      const n = await this.publishBatch();
      total += n;
      if (n < BATCH) return total;
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
            this.failures > 0 ? Math.min(30_000, 500 * 2 ** this.failures) : this.pollMs,
          );
        }
      });
    }, ms);
  }

  private async round(): Promise<void> {
    try {
      await this.drain();
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.logger.warn(
        { err: (err as Error).message, failures: this.failures },
        "outbox publish failed; will retry",
      );
    }
  }

  private async publishBatch(): Promise<number> {
    return this.database.transaction(async (trx) => {
      const rows = await trx
        .selectFrom("outbox")
        .selectAll()
        .orderBy("id")
        .limit(BATCH)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return 0;
      // Publishes are pipelined on one connection, so the stream keeps the rows' order.
      await Promise.all(
        rows.map((r) =>
          this.bus.publishRaw(r.subject, r.payload, {
            id: r.msg_id,
            type: r.event_type,
            source: "/tailor/ingestion",
            contentType: "application/protobuf",
          }),
        ),
      );
      await trx
        .deleteFrom("outbox")
        .where(
          "id",
          "in",
          rows.map((r) => r.id),
        )
        .execute();
      return rows.length;
    });
  }
}
