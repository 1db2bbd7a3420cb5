import { Writable } from "node:stream";
import { createLogger } from "@tailor/telemetry";
import { createTestDatabase, type TestDatabase } from "@tailor/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database, DatabaseUrlError } from "./database.js";

const SECRET = "SSN 078-05-1120 mary.secret@example.com";

describe("PostgreSQL errors in logs (real PostgreSQL)", () => {
  let tdb: TestDatabase;
  let database: Database<unknown>;
  beforeAll(async () => {
    tdb = await createTestDatabase("dblog");
    database = new Database<unknown>({ url: tdb.url, schema: "svc", migrations: {} });
  });
  afterAll(async () => {
    await database?.destroy();
    await tdb?.drop();
  });

  it("keeps code, message and table, and drops the data PostgreSQL echoes", async () => {
    const lines: string[] = [];
    const log = createLogger(
      "db-test",
      "debug",
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const failures: unknown[] = [];
    for (const q of [
      // A lone surrogate in JSON: PostgreSQL quotes the JSON in `where` and `detail`.
      sql`select ${`{"ssn":"${SECRET} \\ud800"}`}::jsonb`,
      sql`select ${`{"ssn": ${SECRET}}`}::jsonb`,
      sql`select ${`${SECRET}`}::uuid`,
      sql`select ${"12345678901234567890078051120"}::bigint`,
    ]) {
      await q.execute(database.db).then(
        () => failures.push(new Error("no error")),
        (err: unknown) => failures.push(err),
      );
    }
    expect(failures).toHaveLength(4);
    const raw = JSON.stringify(
      failures.map((e) => ({ ...(e as object), m: (e as Error).message })),
    );
    // The driver's errors do hold the data; the log lines must not.
    expect(raw).toMatch(/078-05-1120|0780511/);
    for (const err of failures) log.error({ err }, "query failed");
    expect(lines).toHaveLength(4);
    const all = lines.join("\n");
    expect(all).not.toMatch(/078-05-1120|mary\.secret|0780511/);
    const first = JSON.parse(lines[0] ?? "{}") as { err: { code?: string; message?: string } };
    expect(first.err.code).toBe("22P02");
    expect(first.err.message).toMatch(/invalid input syntax for type json/);
  });

  it("names a malformed database URL without its password", () => {
    let err: unknown;
    try {
      new Database({
        url: "postgres://tailor:pw-s3cret@db:notaport/x",
        schema: "s",
        migrations: {},
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DatabaseUrlError);
    expect((err as Error).message).toContain("postgres://tailor:[redacted]@db:notaport/x");
    expect(JSON.stringify(err)).not.toContain("s3cret");
  });
});
