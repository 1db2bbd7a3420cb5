import { type Kysely, type Migration, sql } from "@tailor/db";
import { createOutboxTable } from "@tailor/outbox";

/** Every migration of schema `registry`, in order. Never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  "20261130T100000_models_versions_aliases_outbox": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("models")
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("model", "text", (c) => c.notNull())
        .addColumn("versions", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint("models_pk", ["tenant", "model"])
        .execute();
      await db.schema
        .createTable("versions")
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("model", "text", (c) => c.notNull())
        .addColumn("n", "integer", (c) => c.notNull())
        .addColumn("version", "text", (c) => c.notNull())
        .addColumn("spec", "jsonb", (c) => c.notNull())
        .addColumn("lineage", "jsonb", (c) => c.notNull())
        .addColumn("reports", sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
        .addColumn("state", "text", (c) =>
          c.notNull().check(sql`state in ('candidate', 'promoted', 'rejected')`),
        )
        .addColumn("rejection", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint("versions_pk", ["tenant", "version"])
        .addUniqueConstraint("versions_model_n", ["tenant", "model", "n"])
        .addForeignKeyConstraint("versions_model_fk", ["tenant", "model"], "models", [
          "tenant",
          "model",
        ])
        .execute();
      await db.schema
        .createTable("aliases")
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("model", "text", (c) => c.notNull())
        .addColumn("alias", "text", (c) => c.notNull())
        .addColumn("version", "text", (c) => c.notNull())
        .addColumn("weight", "double precision", (c) => c.notNull())
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint("aliases_pk", ["tenant", "model", "alias"])
        .addForeignKeyConstraint("aliases_version_fk", ["tenant", "version"], "versions", [
          "tenant",
          "version",
        ])
        .execute();
      await db.schema
        .createTable("alias_history")
        .addColumn("id", "bigserial", (c) => c.primaryKey())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("model", "text", (c) => c.notNull())
        .addColumn("alias", "text", (c) => c.notNull())
        .addColumn("action", "text", (c) =>
          c.notNull().check(sql`action in ('promote', 'rollback', 'clear')`),
        )
        .addColumn("version", "text", (c) => c.notNull())
        .addColumn("weight", "double precision", (c) => c.notNull())
        .addColumn("previous_version", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("reason", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("undone", "boolean", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createIndex("alias_history_alias")
        .on("alias_history")
        .columns(["tenant", "model", "alias", "id"])
        .execute();
      await createOutboxTable(db);
    },
  },
  // Versions of model `generator` hold a GeneratorSpec instead of a RetrievalSpec; `guard`
  // versions hold neither (their artifact is in the lineage).
  "20261130T190000_generator_spec": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable("versions")
        .alterColumn("spec", (c) => c.dropNotNull())
        .execute();
      await db.schema.alterTable("versions").addColumn("generator", "jsonb").execute();
    },
  },
};
