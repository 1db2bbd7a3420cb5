import { createTestDatabase, type TestDatabase } from "@tailor/testing";
import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "./database.js";

interface DB {
  things: { id: string; n: number };
}

const migrations: Record<string, Migration> = {
  "20261128T000000_things": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("things")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("n", "integer")
        .execute();
    },
  },
};

describe("Database (real PostgreSQL)", () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase("db");
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it("migrates once even when replicas start together, inside the service schema", async () => {
    const a = new Database<DB>({ url: tdb.url, schema: "svc", migrations });
    const b = new Database<DB>({ url: tdb.url, schema: "svc", migrations });
    await Promise.all([a.migrate(), b.migrate()]);
    await a.db.insertInto("things").values({ id: "x", n: 1 }).execute();
    const rows = await sql<{
      table_schema: string;
    }>`select table_schema from information_schema.tables where table_name = 'things'`.execute(
      b.db,
    );
    expect(rows.rows.map((r) => r.table_schema)).toEqual(["svc"]);
    await Promise.all([a.destroy(), b.destroy()]);
    await a.destroy();
  });

  it("rolls a failed transaction back", async () => {
    const d = new Database<DB>({ url: tdb.url, schema: "svc", migrations });
    await d.migrate();
    await expect(
      d.transaction(async (trx) => {
        await trx.insertInto("things").values({ id: "y", n: 2 }).execute();
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    const y = await d.db.selectFrom("things").selectAll().where("id", "=", "y").execute();
    expect(y).toEqual([]);
    await d.destroy();
  });
});
