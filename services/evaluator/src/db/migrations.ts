import { type Kysely, type Migration, sql } from "@tailor/db";
import { createOutboxTable } from "@tailor/outbox";

/** Every migration of schema `evaluator`, in order. Never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  "20261130T160000_eval_sets_runs_reports_outbox": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("eval_sets")
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull())
        .addColumn("query_count", "integer", (c) => c.notNull())
        .addColumn("judged_query_count", "integer", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint("eval_sets_pk", ["tenant", "name"])
        .execute();
      await db.schema
        .createTable("eval_queries")
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("eval_set", "text", (c) => c.notNull())
        .addColumn("id", "text", (c) => c.notNull())
        .addColumn("position", "integer", (c) => c.notNull())
        .addColumn("text", "text", (c) => c.notNull())
        .addColumn("judgments", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn("answer", "text")
        .addPrimaryKeyConstraint("eval_queries_pk", ["tenant", "eval_set", "id"])
        .addForeignKeyConstraint(
          "eval_queries_set_fk",
          ["tenant", "eval_set"],
          "eval_sets",
          ["tenant", "name"],
          (c) => c.onDelete("cascade"),
        )
        .execute();
      await db.schema
        .createIndex("eval_queries_order")
        .on("eval_queries")
        .columns(["tenant", "eval_set", "position"])
        .execute();
      await db.schema
        .createTable("runs")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("version", "text", (c) => c.notNull())
        .addColumn("eval_set", "text", (c) => c.notNull())
        .addColumn("eval_set_hash", "text", (c) => c.notNull())
        .addColumn("depth", "integer", (c) => c.notNull())
        .addColumn("metrics", "jsonb", (c) => c.notNull())
        .addColumn("per_query", "jsonb", (c) => c.notNull())
        .addColumn("latency_p50_ms", "double precision", (c) => c.notNull())
        .addColumn("latency_p95_ms", "double precision", (c) => c.notNull())
        .addColumn("queries", "integer", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createIndex("runs_tenant_set")
        .on("runs")
        .columns(["tenant", "eval_set", "created_at"])
        .execute();
      await db.schema
        .createTable("reports")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("markdown", "text", (c) => c.notNull())
        .addColumn("svg", "text", (c) => c.notNull())
        .addColumn("version", "text", (c) => c.notNull())
        .addColumn("eval_set", "text", (c) => c.notNull())
        .addColumn("verdict", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createIndex("reports_tenant_created")
        .on("reports")
        .columns(["tenant", "created_at"])
        .execute();
      await db.schema
        .createTable("thresholds")
        .addColumn("tenant", "text", (c) => c.primaryKey())
        .addColumn("minimums", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn("negative_feedback", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("eval_set", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("train_eval_set", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("kind", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("schedule_minutes", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("next_run_at", "timestamptz")
        .addColumn("last_request_version", "text")
        .addColumn("last_request_at", "timestamptz")
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createIndex("thresholds_due")
        .on("thresholds")
        .columns(["next_run_at"])
        .where(sql.ref("next_run_at"), "is not", null)
        .execute();
      await db.schema
        .createTable("feedback_counts")
        .addColumn("tenant", "text", (c) => c.primaryKey())
        .addColumn("negatives", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("last_seq", "bigint", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable("gate_decisions")
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("candidate", "text", (c) => c.notNull())
        .addColumn("eval_set", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("report", "text")
        .addColumn("verdict", "text")
        .addColumn("action", "text")
        .addColumn("canary_weight", "double precision", (c) => c.notNull().defaultTo(0))
        .addColumn("promote_at", "timestamptz")
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint("gate_decisions_pk", ["tenant", "candidate", "eval_set"])
        .execute();
      await createOutboxTable(db);
    },
  },
};
