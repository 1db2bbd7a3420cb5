import { sql } from "@tailor/db";
import type { EvaluatorContext } from "./context.js";
import { runEvaluation } from "./evaluate.js";
import { promoteSoaked } from "./gate-actions.js";
import { DEFAULT_DEPTH } from "./rpc/depth.js";

/** Tenants evaluated per tick at most, so one tick cannot run for hours. */
const PER_TICK = 10;

/**
 * Every `pollMs`: evaluates prod on the threshold set of each tenant whose schedule is due, and
 * promotes to prod the canaries whose soak is over. A due tenant is claimed by moving its next
 * run forward under a SKIP LOCKED row lock, so only one replica evaluates each period.
 */
export class Scheduler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(private readonly ctx: EvaluatorContext) {}

  start(): void {
    this.schedule(this.ctx.config.schedule.pollMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.running;
  }

  /** One round now (tests call it instead of waiting for the timer). */
  async tick(): Promise<void> {
    try {
      await promoteSoaked(this.ctx);
    } catch (err) {
      this.ctx.logger.warn({ err }, "promoting soaked canaries failed; will retry");
    }
    for (let n = 0; n < PER_TICK && !this.stopped; n++) {
      const due = await this.claimDue();
      if (!due) return;
      try {
        const out = await runEvaluation(this.ctx, {
          tenant: due.tenant,
          evalSet: due.eval_set,
          version: "",
          alias: "prod",
          depth: DEFAULT_DEPTH,
          trigger: "schedule",
          signal: this.abort.signal,
        });
        this.ctx.logger.info(
          {
            tenant: due.tenant,
            run: out.run,
            version: out.version,
            regressed: out.regressions.length > 0,
          },
          "scheduled evaluation done",
        );
      } catch (err) {
        this.ctx.logger.warn({ err, tenant: due.tenant }, "scheduled evaluation failed");
      }
    }
  }

  private async claimDue(): Promise<{ tenant: string; eval_set: string } | undefined> {
    return this.ctx.database.transaction(async (trx) => {
      const row = await trx
        .selectFrom("thresholds")
        .select(["tenant", "eval_set", "schedule_minutes"])
        .where("next_run_at", "<=", new Date())
        .where("schedule_minutes", ">", 0)
        .orderBy("next_run_at")
        .limit(1)
        .forUpdate()
        .skipLocked()
        .executeTakeFirst();
      if (!row) return undefined;
      await trx
        .updateTable("thresholds")
        .set({ next_run_at: sql`now() + make_interval(mins => ${row.schedule_minutes})` })
        .where("tenant", "=", row.tenant)
        .execute();
      return row;
    });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((err: unknown) => this.ctx.logger.warn({ err }, "scheduler round failed"))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.ctx.config.schedule.pollMs);
        });
    }, ms);
  }
}
