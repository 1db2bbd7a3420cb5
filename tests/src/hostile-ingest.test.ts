import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Events, publishDataEvent } from "@tailor/bus";
import {
  DataEventSchema,
  Health,
  HealthCheckResponse_ServingStatus,
  IngestionService,
  SearchMode,
} from "@tailor/proto";
import { type Harness, rpcError, startHarness, waitFor } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Hostile input through the real services (issue 6, items 1–4 and the ingestion part of 7):
 * every bad document is refused alone, with a reason naming the field, and the pipeline behind
 * it keeps moving for every tenant.
 */
describe("hostile ingestion: bad documents fail alone, with the field named (real services)", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness("hostile");
  }, 300_000);
  afterAll(async () => {
    await h?.close();
  });

  const keywordIds = async (tenant: string, q: string) =>
    (await h.retrieval.search({ tenant, query: q, k: 10, mode: SearchMode.KEYWORD })).hits.map(
      (x) => x.documentId,
    );
  const searchable = (tenant: string, marker: string, id: string) =>
    waitFor(async () => (await keywordIds(tenant, marker)).includes(id), {
      what: `${tenant}/${id} searchable by ${marker}`,
      timeoutMs: 60_000,
    });
  /** Every dead letter of this suite: its subject without the prefix, and its reason. */
  const allDeadLetters = async () => {
    const name = h.bus.subjects.stream("DLQ");
    const last = (await h.bus.jsm.streams.info(name)).state.last_seq;
    const out: { subject: string; reason: string }[] = [];
    for (let seq = 1; seq <= last; seq++) {
      const m = await h.bus.jsm.streams.getMessage(name, { seq });
      if (m)
        out.push({
          subject: h.bus.subjects.strip(m.subject),
          reason: m.header.get("tailor-dlq-reason"),
        });
    }
    return out;
  };
  /** Dead letters of one original subject (without the prefix). */
  const deadLetters = async (subject: string) =>
    (await allDeadLetters()).filter((d) => d.subject === `dlq.${subject}`);
  const health = async () => {
    const client = createClient(Health, createGrpcTransport({ baseUrl: h.stack.url("ingestion") }));
    return (await client.check({ service: "" })).status;
  };
  const expectCode = async (p: Promise<unknown>, code: Code, message: string | RegExp) => {
    const err = await rpcError(p);
    expect(err?.code).toBe(code);
    if (typeof message === "string") expect(err?.rawMessage).toContain(message);
    else expect(err?.rawMessage).toMatch(message);
  };

  it("item 1: an id with a line break is dead-lettered naming the field; another tenant's document behind it is searchable", async () => {
    await publishDataEvent(h.bus, "evil", "crm", "upsert", { id: "line1\nline2", text: "x" });
    await publishDataEvent(h.bus, "evil", "crm", "upsert", { id: "i".repeat(70_000), text: "x" });
    await publishDataEvent(h.bus, "acme", "crm", "upsert", {
      id: "after-evil",
      text: "The zqafterevilx report follows the bad one.",
    });
    await searchable("acme", "zqafterevilx", "after-evil");
    const dead = await waitFor(
      async () => {
        const d = await deadLetters("data.evil.crm.upsert");
        return d.length >= 2 ? d : undefined;
      },
      { what: "two evil events dead-lettered" },
    );
    expect(dead.map((d) => d.reason)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/id: holds control character U\+000A/),
        expect.stringMatching(/id: is 70000 bytes, over the limit of 512/),
      ]),
    );
    expect(await health()).toBe(HealthCheckResponse_ServingStatus.SERVING);
    await expectCode(
      h.ingestion.ingestDocuments({
        tenant: "evil",
        source: "crm",
        documents: [{ id: "line1\nline2", text: "x" }],
      }),
      Code.InvalidArgument,
      "documents[0].id: holds control character U+000A",
    );
  });

  it("item 1: invalid UTF-8 in a protobuf or CloudEvents body is refused with a clear reason", async () => {
    const bytes = toBinary(
      DataEventSchema,
      create(DataEventSchema, { id: "utf8", text: "TEXT-MARK" }),
    );
    const at = Buffer.from(bytes).indexOf("TEXT-MARK");
    expect(at).toBeGreaterThan(0);
    bytes[at] = 0xff;
    const meta = { type: Events.dataUpsert.type, source: "/test" };
    await h.bus.publishRaw(h.bus.subjects.data("utf8", "crm", "upsert"), bytes, {
      ...meta,
      id: "bad-utf8-protobuf",
      contentType: "application/protobuf",
    });
    const json = Buffer.from(
      '{"specversion":"1.0","id":"1","source":"s","type":"t","data":{"id":"u","text":"\xff"}}',
      "latin1",
    );
    await h.bus.publishRaw(h.bus.subjects.data("utf8", "crm", "upsert"), json, {
      ...meta,
      id: "bad-utf8-json",
      contentType: "application/cloudevents+json",
    });
    const dead = await waitFor(
      async () => {
        const d = await deadLetters("data.utf8.crm.upsert");
        return d.length >= 2 ? d : undefined;
      },
      { what: "both bad UTF-8 events dead-lettered" },
    );
    expect(dead.map((d) => d.reason)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/text: is not valid UTF-8/),
        expect.stringMatching(/body is not valid UTF-8/),
      ]),
    );
  });

  it("item 2: a NUL in one text and a lone surrogate in one metadata value dead-letter only those two of 42", async () => {
    const started = Date.now();
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 42; i++) {
      const doc =
        i === 13
          ? { id: `b-${i}`, text: "holds a \u0000 in the middle" }
          : i === 29
            ? { id: `b-${i}`, text: "fine text", metadata: { k: "bad \ud800 value" } }
            : { id: `b-${i}`, text: `Batch document ${i} with marker zqbatch${i}x.` };
      jobs.push(publishDataEvent(h.bus, "batch", "crm", "upsert", doc, { format: "cloudevents" }));
    }
    await Promise.all(jobs);
    await waitFor(
      async () => Number((await h.retrieval.stats({ tenant: "batch" })).documents) === 40,
      {
        what: "40 good batch documents searchable",
        timeoutMs: 60_000,
      },
    );
    const dead = await waitFor(
      async () => {
        const d = await deadLetters("data.batch.crm.upsert");
        return d.length >= 2 ? d : undefined;
      },
      { what: "the two bad ones dead-lettered" },
    );
    expect(dead.length).toBe(2);
    expect(dead.map((d) => d.reason)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/metadata\["k"\]: holds an unpaired UTF-16 surrogate/),
        expect.stringMatching(/text: holds a NUL character at offset 8/),
      ]),
    );
    // Poison at once, not after minutes of retries of the whole batch.
    expect(Date.now() - started).toBeLessThan(45_000);
    const stored = await h.sql.query<{ external_id: string }>(
      "select external_id from ingestion.documents where tenant = 'batch' and not deleted",
    );
    expect(stored.rows.map((r) => r.external_id).sort()).toEqual(
      Array.from({ length: 42 }, (_, i) => `b-${i}`)
        .filter((id) => id !== "b-13" && id !== "b-29")
        .sort(),
    );
  });

  it("item 3: a 120 KB title is refused; 59 chunks with a 4 KiB title and 16 KiB of metadata become searchable with their sibling", async () => {
    await expectCode(
      h.ingestion.ingestDocuments({
        tenant: "big",
        source: "crm",
        documents: [{ id: "t", title: "T".repeat(120_000), text: "x" }],
      }),
      Code.InvalidArgument,
      "documents[0].title: is 120000 bytes, over the limit of 4096",
    );
    await publishDataEvent(h.bus, "big", "crm", "upsert", {
      id: "t",
      title: "T".repeat(120_000),
      text: "x",
    });
    const sentences = Array.from(
      { length: 1400 },
      (_, i) => `Section ${i} describes freight routes and warehouse capacity in detail.`,
    );
    const metadata = Object.fromEntries(
      Array.from({ length: 4 }, (_, i) => [`field${i}`, `${i}`.repeat(4000)]),
    );
    const bigDoc = {
      id: "big-doc",
      title: "B".repeat(4096),
      text: `zqbigdocx ${sentences.join(" ")}`,
      metadata,
    };
    const sibling = { id: "sibling", text: "The innocent zqsiblingx document." };
    await Promise.all([
      publishDataEvent(h.bus, "big", "crm", "upsert", bigDoc),
      publishDataEvent(h.bus, "big", "crm", "upsert", sibling),
    ]);
    await searchable("big", "zqsiblingx", "sibling");
    await searchable("big", "zqbigdocx", "big-doc");
    await h.settle();
    const chunks = Number(
      (
        await h.sql.query(
          "select chunk_count n from ingestion.documents where tenant = 'big' and external_id = 'big-doc'",
        )
      ).rows[0].n,
    );
    expect(chunks).toBeGreaterThanOrEqual(59);
    const stats = await h.retrieval.stats({ tenant: "big" });
    expect(Number(stats.vectors)).toBe(chunks + 1);
    const dead = await deadLetters("data.big.crm.upsert");
    expect(dead.map((d) => d.reason)).toEqual([expect.stringMatching(/title: is 120000 bytes/)]);
    // Nothing of the accepted documents was dead-lettered further down the pipeline.
    const downstream = (await allDeadLetters()).filter((d) =>
      /^dlq\.(chunk|embedding)\./.test(d.subject),
    );
    expect(downstream).toEqual([]);
  });

  it("item 7: NUL in id, text, title or metadata, an 8,000-byte id and a 20-digit page token are INVALID_ARGUMENT naming the field", async () => {
    const ingest = (doc: {
      id: string;
      text?: string;
      title?: string;
      metadata?: Record<string, string>;
    }) =>
      h.ingestion.ingestDocuments({
        tenant: "rpc",
        source: "crm",
        documents: [{ text: "ok", ...doc }],
      });
    await expectCode(
      ingest({ id: "a\u0000b" }),
      Code.InvalidArgument,
      "documents[0].id: holds a NUL",
    );
    await expectCode(
      ingest({ id: "a", text: "x\u0000y" }),
      Code.InvalidArgument,
      "documents[0].text: holds a NUL",
    );
    await expectCode(
      ingest({ id: "a", title: "x\u0000y" }),
      Code.InvalidArgument,
      "documents[0].title: holds a NUL",
    );
    await expectCode(
      ingest({ id: "a", metadata: { k: "x\u0000y" } }),
      Code.InvalidArgument,
      'documents[0].metadata["k"]: holds a NUL',
    );
    // Binary protobuf cannot carry a lone surrogate (the client encodes it as U+FFFD); JSON can.
    // Either the JSON decoder or the document check refuses it; both name the field.
    const json = createClient(
      IngestionService,
      createConnectTransport({
        baseUrl: h.stack.url("ingestion"),
        httpVersion: "2",
        useBinaryFormat: false,
      }),
    );
    await expectCode(
      json.ingestDocuments({
        tenant: "rpc",
        source: "crm",
        documents: [{ id: "a", text: "ok", metadata: { k: "x\ud800y" } }],
      }),
      Code.InvalidArgument,
      /metadata/,
    );
    await expectCode(
      json.ingestDocuments({
        tenant: "rpc",
        source: "crm",
        documents: [{ id: "a\udc00", text: "ok" }],
      }),
      Code.InvalidArgument,
      /\bid\b/,
    );
    await expectCode(
      ingest({ id: "x".repeat(8000) }),
      Code.InvalidArgument,
      "documents[0].id: is 8000 bytes",
    );
    await expectCode(
      h.ingestion.getDocument({ tenant: "rpc", source: "crm", id: "x".repeat(8000) }),
      Code.InvalidArgument,
      /^id: is 8000 bytes/,
    );
    await expectCode(
      h.ingestion.deleteDocument({ tenant: "rpc", source: "crm", id: "a\u0000" }),
      Code.InvalidArgument,
      /^id: holds a NUL/,
    );
    const forged = Buffer.from(JSON.stringify({ u: "9".repeat(20), s: "crm", i: "a" })).toString(
      "base64url",
    );
    await expectCode(
      h.ingestion.listDocuments({ tenant: "rpc", pageToken: forged }),
      Code.InvalidArgument,
      "page_token",
    );
    await expectCode(
      h.ingestion.listDocuments({ tenant: "rpc", pageToken: "12345678901234567890" }),
      Code.InvalidArgument,
      "page_token",
    );
    const nulCursor = Buffer.from(JSON.stringify({ u: "1", s: "crm", i: "a\u0000" })).toString(
      "base64url",
    );
    await expectCode(
      h.ingestion.listDocuments({ tenant: "rpc", pageToken: nulCursor }),
      Code.InvalidArgument,
      "page_token",
    );
    // None of that stored anything or hurt the service.
    expect((await h.ingestion.listDocuments({ tenant: "rpc" })).documents).toEqual([]);
    expect(await health()).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  // Last: it replays the whole DATA stream of this suite through a fresh consumer.
  it("item 4: redelivering bus events after an RPC delete and an RPC update undoes neither", async () => {
    await publishDataEvent(h.bus, "order", "crm", "upsert", {
      id: "gone",
      text: "Old zqgoneoldx text.",
    });
    await publishDataEvent(h.bus, "order", "crm", "upsert", {
      id: "kept",
      text: "Old zqkeptoldx text.",
    });
    await searchable("order", "zqgoneoldx", "gone");
    await searchable("order", "zqkeptoldx", "kept");
    await h.settle();
    await h.ingestion.deleteDocument({ tenant: "order", source: "crm", id: "gone" });
    const updated = await h.ingestion.ingestDocuments({
      tenant: "order",
      source: "crm",
      documents: [{ id: "kept", text: "New zqkeptnewx text." }],
    });
    await searchable("order", "zqkeptnewx", "kept");
    await h.settle();
    // Redeliver every DATA event: a fresh durable consumer starts again at sequence 1.
    await h.stack.kill("ingestion");
    await h.bus.jsm.consumers.delete(h.bus.subjects.stream("DATA"), "ingestion");
    h.stack.startService("ingestion");
    await h.stack.waitHealthy(120_000, ["ingestion"]);
    await waitFor(
      async () => {
        const c = await h.bus.jsm.consumers.info(h.bus.subjects.stream("DATA"), "ingestion");
        return (
          c.delivered.stream_seq >=
          (await h.bus.jsm.streams.info(h.bus.subjects.stream("DATA"))).state.last_seq
        );
      },
      { what: "the DATA stream redelivered", timeoutMs: 120_000 },
    );
    await h.settle();
    await expectCode(
      h.ingestion.getDocument({ tenant: "order", source: "crm", id: "gone" }),
      Code.NotFound,
      "gone",
    );
    const kept = await h.ingestion.getDocument({ tenant: "order", source: "crm", id: "kept" });
    expect(kept.document?.version).toBe(updated.results[0]?.version);
    expect(await keywordIds("order", "zqgoneoldx")).toEqual([]);
    expect(await keywordIds("order", "zqkeptoldx")).toEqual([]);
    expect(await keywordIds("order", "zqkeptnewx")).toEqual(["kept"]);
  }, 300_000);
});
