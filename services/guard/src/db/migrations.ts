import { type Kysely, type Migration, sql } from "@tailor/db";
import { createOutboxTable } from "@tailor/outbox";

/** Every migration of schema `guard`, in order. Never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  "20261130T170000_policies_chunk_verdicts_outbox": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("policies")
        .addColumn("tenant", "text", (c) => c.primaryKey())
        .addColumn("policy", "jsonb", (c) => c.notNull())
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createTable("chunk_verdicts")
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("chunk_id", "text", (c) => c.notNull())
        .addColumn("document_id", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("document_version", "text", (c) => c.notNull())
        .addColumn("revision", "bigint", (c) => c.notNull())
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("verdict", "jsonb", (c) => c.notNull())
        .addColumn("scanned_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint("chunk_verdicts_pk", ["tenant", "chunk_id"])
        .execute();
      await db.schema
        .createIndex("chunk_verdicts_document")
        .on("chunk_verdicts")
        .columns(["tenant", "source", "document_id"])
        .execute();
      await createOutboxTable(db);
    },
  },
};
