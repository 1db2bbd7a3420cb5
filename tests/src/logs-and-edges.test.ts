import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { Events, publishDataEvent } from "@tailor/bus";
import { SearchMode } from "@tailor/proto";
import { curlHealthCheck, grpcUpload } from "@tailor/service/testing";
import { type Harness, ROOT, startHarness, waitFor } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const _run = promisify(execFile);

/** Marked PII: none of it may ever reach a log line. */
const SSN = "078-05-1120";
const EMAIL = "mary.secret@example.com";
const PII = `SSN ${SSN} ${EMAIL}`;
const LEAK = /078-05-1120|0780511|mary\.secret|pw-s3cret/i;
/** A made-up word that makes the PII documents findable by keyword. */
const WORD = "zqpiimarker";

const SEARCH = "/tailor.retrieval.v1.RetrievalService/Search";
const STATS = "/tailor.retrieval.v1.RetrievalService/Stats";

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => {
      const ce = ConnectError.from(e);
      return `${Code[ce.code]}: ${ce.rawMessage}`;
    },
  );

/**
 * Issue 6 items 6 and 7, issue 7 item 8, through the real services: logs at debug level never
 * hold document text, metadata values, queries or credentials; bad RPCs get the right code
 * naming the field; every port speaks HTTP/1.1 next to h2c; hybrid search survives a dead
 * model-server.
 */
describe("logs and RPC edges (real NATS, PostgreSQL, services)", () => {
  let h: Harness;
  const logs: { service: string; line: string }[] = [];
  const url = (path: string) => `${h.stack.url("retrieval")}${path}`;
  const postJson = (path: string, body: string | Uint8Array) =>
    fetch(url(path), { method: "POST", headers: { "content-type": "application/json" }, body });

  beforeAll(async () => {
    h = await startHarness(
      "logs",
      { TAILOR_LOG_LEVEL: "debug" },
      { onLog: (service, line) => logs.push({ service, line }) },
    );
  }, 300_000);
  afterAll(async () => {
    await h?.close();
  });

  it("ingests and searches marked PII, good and hostile, and no service logs any of it", async () => {
    const tenant = "pii";
    // Over RPC: PII in text, title and metadata values; hostile neighbours refused alone.
    const ok = await h.ingestion.ingestDocuments({
      tenant,
      source: "crm",
      documents: [
        {
          id: "rpc-1",
          title: `Record of ${PII}`,
          text: `${WORD} customer ${PII}`,
          metadata: { ssn: PII },
        },
      ],
    });
    expect(ok.results).toHaveLength(1);
    for (const doc of [
      { id: "rpc-nul", text: `${PII}\u0000${PII}`, metadata: { note: PII } },
      { id: `rpc-long-${"x".repeat(8000)}`, text: PII, metadata: { note: PII } },
    ]) {
      expect(
        await codeOf(h.ingestion.ingestDocuments({ tenant, source: "crm", documents: [doc] })),
      ).toMatch(/^InvalidArgument: documents\[0\]\.(id|text|metadata)/);
    }
    // Over the bus: a good CloudEvent, one that PostgreSQL could not store, and bad JSON bodies.
    await publishDataEvent(
      h.bus,
      tenant,
      "crm",
      "upsert",
      { id: "bus-1", title: PII, text: `${WORD} bus ${PII}`, metadata: { ssn: PII } },
      { format: "cloudevents" },
    );
    await publishDataEvent(
      h.bus,
      tenant,
      "crm",
      "upsert",
      { id: "bus-lone", title: PII, text: `${PII}\u0000`, metadata: { ssn: `${PII}\ud800` } },
      { format: "cloudevents" },
    );
    const meta = {
      type: Events.dataUpsert.type,
      source: "/test",
      contentType: "application/cloudevents+json",
    };
    const subject = h.bus.subjects.data(tenant, "crm", "upsert");
    await h.bus.publishRaw(subject, Buffer.from(`${PII} is not JSON`), {
      ...meta,
      id: "bad-json-1",
    });
    await h.bus.publishRaw(
      subject,
      Buffer.from(`{"specversion":"1.0","data":{"id":"x","text":"${PII}" ${PII}}}`),
      { ...meta, id: "bad-json-2" },
    );

    // Searches whose queries hold PII, in every mode, once both good documents are in.
    await waitFor(
      async () =>
        (await h.retrieval.search({ tenant, query: WORD, k: 10, mode: SearchMode.KEYWORD })).hits
          .length === 2,
      { what: "both PII documents searchable", timeoutMs: 120_000 },
    );
    for (const mode of [SearchMode.KEYWORD, SearchMode.DENSE, SearchMode.HYBRID]) {
      const search = () =>
        h.retrieval.search({ tenant, query: `${WORD} ${PII}`, k: 5, mode, metadata: {} });
      // Under a full parallel `npm test` the model-server has answered a query embedding with
      // UNAVAILABLE now and then (not yet explained); what this test is about is the logs, so a
      // dense query is retried for a while rather than failing the suite on that.
      let r = await search().catch(() => undefined);
      for (let i = 0; !r && i < 20; i++) {
        await new Promise((res) => setTimeout(res, 500));
        r = await search().catch(() => undefined);
      }
      expect((r ?? (await search())).hits.length).toBeGreaterThan(0);
    }
    expect(await codeOf(h.retrieval.search({ tenant, query: `${PII}\u0000` }))).toMatch(
      /^InvalidArgument: query: holds a NUL/,
    );
    await h.settle();
    // The dead letters are written before the consumer logs them; wait for both lines.
    await waitFor(() => logs.filter((l) => l.line.includes("dead-lettered")).length >= 3, {
      what: "the bad events' log lines",
      timeoutMs: 60_000,
    });

    for (const s of h.services)
      expect(logs.filter((l) => l.service === s).length, s).toBeGreaterThan(0);
    // The lines about the hostile events are there, and hold their reasons without the data.
    const dead = logs.filter((l) => l.line.includes("dead-lettered"));
    expect(dead.map((l) => (JSON.parse(l.line) as { reason: string }).reason).join("\n")).toMatch(
      /metadata\["ssn"\]: holds an unpaired[\s\S]*not valid JSON/,
    );
    const leaks = logs.filter((l) => LEAK.test(l.line));
    expect(leaks).toEqual([]);
  }, 240_000);

  it("refuses bad RPCs with INVALID_ARGUMENT naming the field", async () => {
    for (const tenant of [">", "*", "a.b", ""]) {
      expect(await codeOf(h.retrieval.stats({ tenant }))).toMatch(/^InvalidArgument: tenant: /);
      expect(await codeOf(h.retrieval.search({ tenant, query: "x" }))).toMatch(
        /^InvalidArgument: tenant: /,
      );
    }
    // The limit is UTF-8 bytes, and says so: 2,048 × "é" is 4,096 bytes, one more is over.
    expect(await codeOf(h.retrieval.search({ tenant: "t", query: "é".repeat(2048) }))).toBe("ok");
    expect(await codeOf(h.retrieval.search({ tenant: "t", query: "é".repeat(2049) }))).toBe(
      "InvalidArgument: query: is 4098 bytes, over the limit of 4096",
    );
    // A lone surrogate cannot travel in protobuf binary (it becomes U+FFFD), but can in JSON.
    const lone = await postJson(SEARCH, '{"tenant":"t","query":"a\\ud800b"}');
    expect(lone.status).toBe(400);
    expect(((await lone.json()) as { message: string }).message).toMatch(
      /SearchRequest\.query .*invalid UTF8/,
    );
    // Unknown enum names and invalid UTF-8 in Connect JSON.
    const bogus = await postJson(SEARCH, '{"tenant":"t","query":"x","mode":"SEARCH_MODE_BOGUS"}');
    expect(bogus.status).toBe(400);
    expect(((await bogus.json()) as { code: string }).code).toBe("invalid_argument");
    const utf8 = await postJson(
      SEARCH,
      Buffer.concat([
        Buffer.from('{"tenant":"t","query":"a'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}'),
      ]),
    );
    expect(await utf8.json()).toEqual({
      code: "invalid_argument",
      message: "request body is not valid UTF-8",
    });
  });

  it("refuses a 50 MB body early, over HTTP/1.1 and over gRPC", async () => {
    const big = JSON.stringify({ tenant: "t", query: "x".repeat(50 * 1024 * 1024) });
    const res = await postJson(SEARCH, big);
    expect(res.status).toBe(429);
    expect(((await res.json()) as { code: string }).code).toBe("resource_exhausted");
    const grpc = await grpcUpload(h.stack.url("retrieval"), SEARCH, 50 * 1024 * 1024);
    expect(grpc.status).toBe(String(Code.ResourceExhausted));
    expect(grpc.sentWhenAnswered).toBeLessThan(4 * 1024 * 1024);
  });

  it("answers plain HTTP/1.1 (curl without --http2-prior-knowledge) on every port", async () => {
    for (const s of h.services) {
      expect(await curlHealthCheck(h.stack.url(s)), s).toEqual(['{"status":"SERVING"}', "1.1"]);
    }
    const stats = await postJson(STATS, '{"tenant":"pii"}');
    expect(((await stats.json()) as { documents: string }).documents).toBe("2");
  });

  it("answers hybrid search from the keyword side when the model-server is down, and says so", async () => {
    await h.stack.kill("model-server");
    const r = await h.retrieval.search({
      tenant: "pii",
      query: WORD,
      k: 5,
      mode: SearchMode.HYBRID,
    });
    expect(r.hits.map((x) => x.documentId).sort()).toEqual(["bus-1", "rpc-1"]);
    expect(r.denseDegraded).toBe(true);
    expect(r.warnings.join(" ")).toMatch(/model-server/);
    const port = String(h.stack.ports["model-server"]);
    expect(r.warnings.join(" ")).not.toContain(port);
    const dense = await codeOf(
      h.retrieval.search({ tenant: "pii", query: WORD, mode: SearchMode.DENSE }),
    );
    expect(dense).toMatch(/^Unavailable: model-server/);
    expect(dense).not.toContain(port);
    expect(dense).not.toContain("127.0.0.1");
    const kw = await h.retrieval.search({ tenant: "pii", query: WORD, mode: SearchMode.KEYWORD });
    expect(kw.denseDegraded).toBe(false);
    expect(kw.hits).toHaveLength(2);
  });
});

describe("a malformed TAILOR_DATABASE_URL is reported without its password", () => {
  it.each([
    "postgress://tailor:pw-s3cret@127.0.0.1:5432/x",
    "postgres://tailor:pw-s3cret@127.0.0.1:notaport/x",
  ])(
    "%s",
    async (databaseUrl) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", join(ROOT, "services/ingestion/src/main.ts")],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            TAILOR_DATABASE_URL: databaseUrl,
            TAILOR_LOG_LEVEL: "debug",
            TAILOR_INGESTION_PORT: "0",
          },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let out = "";
      child.stdout.on("data", (d) => {
        out += String(d);
      });
      child.stderr.on("data", (d) => {
        out += String(d);
      });
      const code = await new Promise<number | null>((r) => child.once("exit", r));
      expect(code).toBe(1);
      expect(out).toMatch(/database URL|TAILOR_DATABASE_URL/);
      expect(out).toContain("tailor:[redacted]@");
      expect(out).not.toContain("pw-s3cret");
    },
    60_000,
  );
});
