import { type Kysely, type Migration, sql } from "@tailor/db";

/** Every migration of schema `ingestion`, in order. Never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  "20261128T100000_documents_chunks_outbox": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("documents")
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("external_id", "text", (c) => c.notNull())
        .addColumn("title", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("content_type", "text", (c) => c.notNull())
        .addColumn("version", "text", (c) => c.notNull())
        .addColumn("revision", "bigint", (c) => c.notNull())
        .addColumn("metadata", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn("chunk_count", "integer", (c) => c.notNull())
        .addColumn("deleted", "boolean", (c) => c.notNull().defaultTo(false))
        .addColumn("last_event_seq", "bigint")
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint("documents_pk", ["tenant", "source", "external_id"])
        .execute();
      await db.schema
        .createIndex("documents_tenant_updated")
        .on("documents")
        .columns(["tenant", "updated_at", "source", "external_id"])
        .execute();
      await db.schema
        .createTable("chunks")
        .addColumn("chunk_id", "text", (c) => c.primaryKey())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("external_id", "text", (c) => c.notNull())
        .addColumn("idx", "integer", (c) => c.notNull())
        .addColumn("text", "text", (c) => c.notNull())
        .addColumn("token_count", "integer", (c) => c.notNull())
        .addColumn("revision", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("chunks_document")
        .on("chunks")
        .columns(["tenant", "source", "external_id", "idx"])
        .execute();
      await db.schema
        .createTable("outbox")
        .addColumn("id", "bigserial", (c) => c.primaryKey())
        .addColumn("subject", "text", (c) => c.notNull())
        .addColumn("event_type", "text", (c) => c.notNull())
        .addColumn("msg_id", "text", (c) => c.notNull())
        .addColumn("payload", "bytea", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  "20261210T100000_data_position_outbox_attempts": {
    async up(db: Kysely<unknown>) {
      // The stale-event guard becomes a position shared by bus events and RPC writes.
      await sql`alter table documents rename column last_event_seq to data_position`.execute(db);
      await sql`update documents set data_position = 0 where data_position is null`.execute(db);
      await sql`alter table documents alter column data_position set default 0, alter column data_position set not null`.execute(
        db,
      );
      await db.schema
        .alterTable("outbox")
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  "20261230T100000_chunks_tenant_chunk_id": {
    async up(db: Kysely<unknown>) {
      // ListChunks pages a tenant's chunks by id (keyset): without this index every page would
      // scan the tenant's chunks.
      await db.schema
        .createIndex("chunks_tenant_chunk_id")
        .on("chunks")
        .columns(["tenant", "chunk_id"])
        .execute();
    },
  },
};
