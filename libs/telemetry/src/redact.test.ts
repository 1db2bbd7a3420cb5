import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { redactUrl, safeJsonError, scrubText } from "./redact.js";

const SECRET = "SSN 078-05-1120 mary.secret@example.com";

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, stream };
}

function jsonError(text: string): Error {
  try {
    JSON.parse(text);
  } catch (err) {
    return err as Error;
  }
  throw new Error("parsed");
}

describe("redactUrl", () => {
  it.each([
    ["postgres://tailor:s3cr3t@db:5432/tailor", "postgres://tailor:[redacted]@db:5432/tailor"],
    ["postgress://u:s3cr3t@db/x", "postgress://u:[redacted]@db/x"],
    ["postgres://u:p@ss/w0rd@db:notaport/x", "postgres://u:[redacted]@db:notaport/x"],
    ["nats://svc:s3cr3t@[::1:4222", "nats://svc:[redacted]@[::1:4222"],
    [
      'bad "postgres://u:s3cr3t@h" and http://a:b@c/',
      'bad "postgres://u:[redacted]@h" and http://a:[redacted]@c/',
    ],
  ])("%s", (input, want) => {
    expect(redactUrl(input)).toBe(want);
    expect(redactUrl(input)).not.toMatch(/s3cr3t|w0rd/);
  });

  it("keeps URLs without a password as they are", () => {
    for (const u of ["postgres://postgres@127.0.0.1:5432/tailor", "http://127.0.0.1:7104/x?a=b"])
      expect(redactUrl(u)).toBe(u);
  });

  it("stays linear on long text", () => {
    const s = `${"a".repeat(200_000)}://${"b".repeat(200_000)}`;
    const t = Date.now();
    redactUrl(s);
    expect(Date.now() - t).toBeLessThan(500);
  });
});

describe("safeJsonError and scrubText", () => {
  it.each([
    `${SECRET} and more`,
    `{"text":"${SECRET}",}`,
    `{"text":"${SECRET}"`,
    `{"a":1} ${SECRET}`,
  ])("never quote the input of JSON.parse: %s", (text) => {
    const err = jsonError(text);
    expect(safeJsonError(err)).toMatch(/^invalid JSON/);
    expect(safeJsonError(err)).not.toContain("078-05");
    expect(scrubText(`not a CloudEvents JSON document: ${err.message}`)).not.toMatch(/078|SSN/);
  });

  it("drops the values PostgreSQL data errors quote", () => {
    expect(scrubText(`invalid input syntax for type uuid: "${SECRET}"`)).toBe(
      "invalid input syntax for type uuid",
    );
    expect(scrubText(`value "12345678901234567890" is out of range for type bigint`)).toBe(
      "value is out of range for type bigint",
    );
    expect(scrubText('relation "ingestion.documents" does not exist')).toBe(
      'relation "ingestion.documents" does not exist',
    );
  });
});

describe("createLogger", () => {
  it("logs errors without the fields that echo data, and messages without passwords", () => {
    const { lines, stream } = capture();
    const log = createLogger("t", "debug", stream);
    const pgLike = Object.assign(new Error("invalid input syntax for type json"), {
      code: "22P02",
      severity: "ERROR",
      table: "documents",
      detail: `Token "${SECRET}" is invalid.`,
      where: `JSON data, line 1: {"ssn":"${SECRET}`,
      internalQuery: `select '${SECRET}'`,
      parameters: [SECRET],
      hint: SECRET,
    });
    log.error({ err: pgLike }, "insert failed");
    log.error(pgLike);
    log.warn({ reason: `poison: ${jsonError(SECRET).message}` }, "message dead-lettered");
    log.warn({ err: jsonError(SECRET).message }, "outbox publish failed");
    log.error(
      { err: new Error("wrapped", { cause: jsonError(`{"a": ${SECRET}}`) }) },
      "with cause",
    );
    log.fatal(
      { err: { name: "ConfigError", message: 'TAILOR_DATABASE_URL ("postgress://u:pw0rd@h/db")' } },
      "failed to start",
    );
    log.info("connecting to postgres://u:pw0rd@h/db");
    log.info({ url: "nats://u:pw0rd@h:4222", natsUrl: "nats://u:pw0rd@h:4222" }, "bus");
    log.error(new AggregateError([pgLike], "several"), "aggregate");

    expect(lines.length).toBe(9);
    const all = lines.join("\n");
    expect(all).not.toMatch(/078-05|mary\.secret|pw0rd/);
    const first = JSON.parse(lines[0] ?? "{}") as { err: Record<string, unknown> };
    expect(first.err).toMatchObject({
      code: "22P02",
      table: "documents",
      message: "invalid input syntax for type json",
    });
    expect(first.err["detail"]).toBeUndefined();
    expect(first.err["where"]).toBeUndefined();
    expect(all).toContain("u:[redacted]@h");
  });
});
