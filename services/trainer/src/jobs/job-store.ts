import { randomUUID } from "node:crypto";
import type { Subjects } from "@tailor/bus";
import { type Database, type Insertable, sql, type Transaction } from "@tailor/db";
import type { ModelTrained } from "@tailor/proto";
import type { OutboxTable, TrainerDB } from "../db/schema.js";
import { type StatusKind, statusRow, trainedRow } from "./job-events.js";
import { isTerminal, type JobRow } from "./job-view.js";

/** What a new job is asked to do (validated by the caller). */
export interface NewJob {
  tenant: string;
  kind: string;
  model: string;
  evalSet: string;
  heldoutEvalSet: string;
  baseVersion: string;
  seed: bigint;
  reason: string;
  /** Idempotency key: a second job with the same key is not created; the first is returned. */
  requestId?: string;
}

/** A claimed job: `resumed` when another process had run it (its checkpoint, if any, goes on). */
export interface Claim {
  job: JobRow;
  resumed: boolean;
}

/** The runner no longer holds the job (its lease expired and another process took it, or it ended). */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
  readonly code = "lease_lost";
}

type Trx = Transaction<TrainerDB>;
const UNIQUE_VIOLATION = "23505";

/**
 * Jobs in PostgreSQL: queued → running → succeeded / failed / cancelled. Every state change and
 * every status event it causes commit together (the outbox), so an event is never lost or sent
 * for a change that did not happen. A running job is held by a lease (owner + expiry) renewed
 * by heartbeats; every write of a runner names its owner, so a runner whose job was taken over
 * after a stall cannot overwrite the new holder's work.
 */
export class JobStore {
  constructor(
    private readonly database: Database<TrainerDB>,
    private readonly subjects: Subjects,
    private readonly onOutbox: () => void = () => {},
  ) {}

  /** Queues a job; with a request id already used by the tenant, returns that job instead. */
  async create(n: NewJob): Promise<{ job: JobRow; created: boolean }> {
    const r = await this.database.transaction(async (trx) => {
      const job = await trx
        .insertInto("jobs")
        .values({
          id: randomUUID(),
          tenant: n.tenant,
          kind: n.kind,
          model: n.model,
          eval_set: n.evalSet,
          heldout_eval_set: n.heldoutEvalSet,
          base_version: n.baseVersion,
          seed: n.seed.toString(),
          reason: n.reason,
          request_id: n.requestId || null,
          state: "queued",
          stage: "queued",
        })
        .onConflict((oc) =>
          oc.columns(["tenant", "request_id"]).where("request_id", "is not", null).doNothing(),
        )
        .returningAll()
        .executeTakeFirst();
      if (!job) {
        const existing = await trx
          .selectFrom("jobs")
          .selectAll()
          .where("tenant", "=", n.tenant)
          .where("request_id", "=", n.requestId ?? "")
          .executeTakeFirstOrThrow();
        return { job: existing, created: false };
      }
      await this.status(trx, job, "progress");
      return { job, created: true };
    });
    if (r.created) this.onOutbox();
    return r;
  }

  /** One job of one tenant (another tenant's job is invisible). */
  async get(tenant: string, id: string): Promise<JobRow | undefined> {
    return this.database.db
      .selectFrom("jobs")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("id", "=", id)
      .executeTakeFirst();
  }

  async byRequestId(tenant: string, requestId: string): Promise<JobRow | undefined> {
    return this.database.db
      .selectFrom("jobs")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("request_id", "=", requestId)
      .executeTakeFirst();
  }

  /** The tenant's newest jobs first. */
  async list(tenant: string, limit: number): Promise<JobRow[]> {
    return this.database.db
      .selectFrom("jobs")
      .selectAll()
      .where("tenant", "=", tenant)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
  }

  /**
   * Cancels a job: a queued one (or a running one whose holder is gone) at once; a running one
   * is flagged and its runner stops at the next checkpoint boundary. A finished job is returned
   * as it is. Undefined when the tenant has no such job.
   */
  async cancel(tenant: string, id: string): Promise<JobRow | undefined> {
    const r = await this.database.transaction(async (trx) => {
      const job = await trx
        .selectFrom("jobs")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("id", "=", id)
        .forUpdate()
        .executeTakeFirst();
      if (!job || isTerminal(job.state)) return { job, wrote: false };
      const holderGone =
        job.state === "queued" ||
        job.lease_expires_at === null ||
        job.lease_expires_at.getTime() < Date.now();
      if (holderGone) return { job: await this.finish(trx, job, "cancelled", {}), wrote: true };
      if (job.cancel_requested) return { job, wrote: false };
      const flagged = await trx
        .updateTable("jobs")
        .set((eb) => ({
          cancel_requested: true,
          stage: "cancelling",
          revision: eb("revision", "+", "1"),
          updated_at: sql`now()`,
        }))
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return { job: flagged, wrote: false };
    });
    if (r.wrote) this.onOutbox();
    return r.job;
  }

  /**
   * Takes one job to run: first a RUNNING job whose lease expired (its process died: it resumes
   * from its checkpoint), else the oldest QUEUED job whose tenant has no job of its kind running.
   * The partial unique index `jobs_one_running` makes one-per-(tenant, kind) hold even when two
   * trainers race for two queued jobs of the same kind: the loser's claim fails and it moves on.
   */
  async claim(owner: string, leaseMs: number): Promise<Claim | undefined> {
    try {
      const r = await this.database.transaction(async (trx) => {
        const stale = await trx
          .selectFrom("jobs")
          .selectAll()
          .where("state", "=", "running")
          .where("lease_expires_at", "<", sql<Date>`now()`)
          .orderBy("created_at")
          .limit(1)
          .forUpdate()
          .skipLocked()
          .executeTakeFirst();
        if (stale) {
          const job = await trx
            .updateTable("jobs")
            .set((eb) => ({
              lease_owner: owner,
              lease_expires_at: sql`now() + ${leaseMs} * interval '1 millisecond'`,
              // A takeover counts as a resume when there is a checkpoint to resume from.
              resumes: sql<number>`resumes + (select count(*)::int from checkpoints where job_id = ${stale.id})`,
              revision: eb("revision", "+", "1"),
              updated_at: sql`now()`,
            }))
            .where("id", "=", stale.id)
            .returningAll()
            .executeTakeFirstOrThrow();
          return { job, resumed: true };
        }
        const queued = await trx
          .selectFrom("jobs as j")
          .selectAll()
          .where("j.state", "=", "queued")
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom("jobs as r")
                  .select("r.id")
                  .whereRef("r.tenant", "=", "j.tenant")
                  .whereRef("r.kind", "=", "j.kind")
                  .where("r.state", "=", "running"),
              ),
            ),
          )
          .orderBy("j.created_at")
          .orderBy("j.id")
          .limit(1)
          .forUpdate()
          .skipLocked()
          .executeTakeFirst();
        if (!queued) return undefined;
        const job = await trx
          .updateTable("jobs")
          .set((eb) => ({
            state: "running",
            stage: "starting",
            lease_owner: owner,
            lease_expires_at: sql`now() + ${leaseMs} * interval '1 millisecond'`,
            revision: eb("revision", "+", "1"),
            updated_at: sql`now()`,
          }))
          .where("id", "=", queued.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await this.status(trx, job, "progress");
        return { job, resumed: false };
      });
      if (r && !r.resumed) this.onOutbox();
      return r;
    } catch (err) {
      // Another trainer started a job of the same tenant and kind in the same instant.
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) return undefined;
      throw err;
    }
  }

  /** Renews the lease; says whether a cancel was asked for. Throws LeaseLostError when not held. */
  async heartbeat(owner: string, id: string, leaseMs: number): Promise<{ cancel: boolean }> {
    const r = await this.database.db
      .updateTable("jobs")
      .set({ lease_expires_at: sql`now() + ${leaseMs} * interval '1 millisecond'` })
      .where("id", "=", id)
      .where("state", "=", "running")
      .where("lease_owner", "=", owner)
      .returning(["cancel_requested"])
      .executeTakeFirst();
    if (!r) throw new LeaseLostError(`job ${id} is no longer held by ${owner}`);
    return { cancel: r.cancel_requested };
  }

  /** Gives the lease up at once (a clean shutdown): another process resumes the job now. */
  async release(owner: string, id: string): Promise<void> {
    await this.database.db
      .updateTable("jobs")
      .set({ lease_expires_at: sql`now() - interval '1 millisecond'` })
      .where("id", "=", id)
      .where("state", "=", "running")
      .where("lease_owner", "=", owner)
      .execute();
  }

  /** Records progress; with `event`, publishes it as `training.<tenant>.progress`. */
  async progress(
    owner: string,
    id: string,
    p: {
      progress: number;
      stage: string;
      metrics?: Record<string, number>;
      datasetHash?: string;
      baseVersion?: string;
    },
    event: boolean,
  ): Promise<void> {
    await this.database.transaction(async (trx) => {
      const job = await trx
        .updateTable("jobs")
        .set((eb) => ({
          progress: Math.min(1, Math.max(0, p.progress)),
          stage: p.stage,
          ...(p.metrics && {
            metrics: JSON.stringify(p.metrics) as unknown as Record<string, number>,
          }),
          ...(p.datasetHash !== undefined && { dataset_hash: p.datasetHash }),
          ...(p.baseVersion !== undefined && { base_version: p.baseVersion }),
          revision: eb("revision", "+", "1"),
          updated_at: sql`now()`,
        }))
        .where("id", "=", id)
        .where("state", "=", "running")
        .where("lease_owner", "=", owner)
        .returningAll()
        .executeTakeFirst();
      if (!job) throw new LeaseLostError(`job ${id} is no longer held by ${owner}`);
      if (event) await this.status(trx, job, "progress");
    });
    if (event) this.onOutbox();
  }

  async saveCheckpoint(owner: string, id: string, data: Uint8Array): Promise<void> {
    await this.database.transaction(async (trx) => {
      const held = await trx
        .selectFrom("jobs")
        .select("id")
        .where("id", "=", id)
        .where("state", "=", "running")
        .where("lease_owner", "=", owner)
        .forUpdate()
        .executeTakeFirst();
      if (!held) throw new LeaseLostError(`job ${id} is no longer held by ${owner}`);
      await trx
        .insertInto("checkpoints")
        .values({ job_id: id, data: Buffer.from(data) })
        .onConflict((oc) =>
          oc.column("job_id").doUpdateSet({ data: Buffer.from(data), updated_at: sql`now()` }),
        )
        .execute();
    });
  }

  async loadCheckpoint(id: string): Promise<Uint8Array | undefined> {
    const r = await this.database.db
      .selectFrom("checkpoints")
      .select("data")
      .where("job_id", "=", id)
      .executeTakeFirst();
    return r?.data;
  }

  /**
   * Ends a held job. Succeeded: its candidate version and metrics, plus `model.<tenant>.trained`
   * in the same transaction; failed: the error; cancelled. The checkpoint goes with it.
   */
  async end(
    owner: string,
    id: string,
    state: "succeeded" | "failed" | "cancelled",
    o: {
      version?: string;
      error?: string;
      metrics?: Record<string, number>;
      trained?: ModelTrained;
    },
  ): Promise<JobRow> {
    const job = await this.database.transaction(async (trx) => {
      const held = await trx
        .selectFrom("jobs")
        .selectAll()
        .where("id", "=", id)
        .where("state", "=", "running")
        .where("lease_owner", "=", owner)
        .forUpdate()
        .executeTakeFirst();
      if (!held) throw new LeaseLostError(`job ${id} is no longer held by ${owner}`);
      const done = await this.finish(trx, held, state, o);
      if (o.trained) await this.outbox(trx, [trainedRow(this.subjects, o.trained, id)]);
      return done;
    });
    this.onOutbox();
    return job;
  }

  private async finish(
    trx: Trx,
    job: JobRow,
    state: "succeeded" | "failed" | "cancelled",
    o: { version?: string; error?: string; metrics?: Record<string, number> },
  ): Promise<JobRow> {
    const done = await trx
      .updateTable("jobs")
      .set((eb) => ({
        state,
        stage: state,
        ...(state === "succeeded" && { progress: 1 }),
        ...(o.version !== undefined && { version: o.version }),
        ...(o.error !== undefined && { error: o.error }),
        ...(o.metrics && {
          metrics: JSON.stringify(o.metrics) as unknown as Record<string, number>,
        }),
        lease_owner: null,
        lease_expires_at: null,
        revision: eb("revision", "+", "1"),
        updated_at: sql`now()`,
      }))
      .where("id", "=", job.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx.deleteFrom("checkpoints").where("job_id", "=", job.id).execute();
    await this.status(trx, done, state);
    return done;
  }

  private async status(trx: Trx, job: JobRow, kind: StatusKind): Promise<void> {
    await this.outbox(trx, [statusRow(this.subjects, job, kind)]);
  }

  private async outbox(trx: Trx, rows: Insertable<OutboxTable>[]): Promise<void> {
    if (rows.length > 0) await trx.insertInto("outbox").values(rows).execute();
  }
}
