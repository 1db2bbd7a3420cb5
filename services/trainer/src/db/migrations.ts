import { type Kysely, type Migration, sql } from "@tailor/db";
import { createOutboxTable } from "@tailor/outbox";

/** Every migration of schema `trainer`, in order. Never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  "20261130T160000_jobs_checkpoints_outbox": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("jobs")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("model", "text", (c) => c.notNull().defaultTo("retrieval"))
        .addColumn("eval_set", "text", (c) => c.notNull())
        .addColumn("heldout_eval_set", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("base_version", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("seed", sql`numeric(20,0)`, (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("request_id", "text")
        .addColumn("state", "text", (c) =>
          c.notNull().check(sql`state in ('queued','running','succeeded','failed','cancelled')`),
        )
        .addColumn("progress", "double precision", (c) => c.notNull().defaultTo(0))
        .addColumn("stage", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("version", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("error", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("metrics", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn("resumes", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("dataset_hash", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("cancel_requested", "boolean", (c) => c.notNull().defaultTo(false))
        .addColumn("lease_owner", "text")
        .addColumn("lease_expires_at", "timestamptz")
        // Bumped on every visible change, so WatchJob can tell one state from the next cheaply.
        .addColumn("revision", "bigint", (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      // One job per tenant and kind runs at a time, whatever the number of trainer processes.
      await sql`create unique index jobs_one_running on jobs (tenant, kind) where state = 'running'`.execute(
        db,
      );
      await sql`create unique index jobs_request_id on jobs (tenant, request_id) where request_id is not null`.execute(
        db,
      );
      await sql`create index jobs_queued on jobs (created_at, id) where state = 'queued'`.execute(
        db,
      );
      await db.schema
        .createIndex("jobs_tenant_created")
        .on("jobs")
        .columns(["tenant", "created_at"])
        .execute();
      await db.schema
        .createTable("checkpoints")
        .addColumn("job_id", "text", (c) =>
          c.primaryKey().references("jobs.id").onDelete("cascade"),
        )
        .addColumn("data", "bytea", (c) => c.notNull())
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await createOutboxTable(db);
    },
  },
};
