import { randomBytes } from "node:crypto";
import pg from "pg";

/** Admin URL of the PostgreSQL server tests use (a database named in it is replaced per suite). */
export function testDatabaseAdminUrl(): string {
  return (
    process.env["TAILOR_TEST_DATABASE_URL"] ||
    process.env["TAILOR_DATABASE_URL"] ||
    "postgres://postgres@127.0.0.1:5432/postgres"
  );
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates a fresh database for one suite; `drop()` removes it (forcing out leftover sessions). */
export async function createTestDatabase(label = "t"): Promise<TestDatabase> {
  if (process.env["TAILOR_TEST_PG_MODE"] === "pglite") return createPgliteDatabase(label);
  const admin = new URL(testDatabaseAdminUrl());
  const name = `tailor_test_${label
    .replace(/[^a-z0-9]/gi, "")
    .toLowerCase()
    .slice(0, 16)}_${randomBytes(4).toString("hex")}`;
  const adminUrl = new URL(admin);
  adminUrl.pathname = "/postgres";
  const client = new pg.Client({ connectionString: adminUrl.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl.toString() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * Fallback for machines where no PostgreSQL could be installed: a PGlite (real Postgres compiled
 * to WASM) of the suite's own behind its wire-protocol socket, so the suite still speaks pg.
 */
async function createPgliteDatabase(label: string): Promise<TestDatabase> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const { freePort } = await import("./ports.js");
  const db = await PGlite.create();
  const port = await freePort();
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections: 32 });
  await server.start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    name: `pglite_${label}`,
    drop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
