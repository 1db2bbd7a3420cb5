import { type Kysely, type Migration, sql } from "@tailor/db";
import { createOutboxTable } from "@tailor/outbox";

/** Every migration of schema `gateway`, in order. Never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  "20261130T190000_keys_limits_interactions_outbox": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("api_keys")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("secret_hash", "bytea", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("revoked_at", "timestamptz")
        .addColumn("last_used_at", "timestamptz")
        .addColumn("requests_per_second", "double precision", (c) => c.notNull().defaultTo(0))
        .addColumn("burst", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("token_budget", "bigint", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex("api_keys_tenant").on("api_keys").column("tenant").execute();
      await db.schema
        .createTable("rate_buckets")
        .addColumn("key_id", "text", (c) => c.primaryKey())
        .addColumn("tokens", "double precision", (c) => c.notNull())
        .addColumn("updated_ms", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("budgets")
        .addColumn("key_id", "text", (c) => c.notNull())
        .addColumn("period", "text", (c) => c.notNull())
        .addColumn("used", "bigint", (c) => c.notNull().defaultTo(0))
        .addColumn("reserved", "bigint", (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint("budgets_pk", ["key_id", "period"])
        .execute();
      await db.schema
        .createTable("interactions")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("key_id", "text", (c) => c.notNull())
        .addColumn("api", "text", (c) => c.notNull())
        .addColumn("question", "text", (c) => c.notNull())
        .addColumn("answer", "text", (c) => c.notNull())
        .addColumn("record", "jsonb", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createIndex("interactions_tenant_time")
        .on("interactions")
        .columns(["tenant", "created_at"])
        .execute();
      await db.schema
        .createTable("feedback")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("interaction_id", "text", (c) => c.notNull())
        .addColumn("key_id", "text", (c) => c.notNull())
        .addColumn("rating", "double precision", (c) => c.notNull())
        .addColumn("guard_false_positive", "boolean", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await createOutboxTable(db);
    },
  },
};
