import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * Admin URL of the PostgreSQL server tests use (a database named in it is replaced per suite):
 * what `npm test` made sure answers, else TAILOR_DATABASE_URL, else the local default.
 */
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
