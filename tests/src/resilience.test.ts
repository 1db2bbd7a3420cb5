import { Buffer } from "node:buffer";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { CLOUDEVENTS_JSON, Events, publishDataEvent } from "@tailor/bus";
import { chunkId } from "@tailor/ingestion";
import { ChunksDeletedSchema, SearchMode } from "@tailor/proto";
import { type Harness, startHarness, waitFor } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("resilience: poison events and crashes (real NATS, PostgreSQL, services)", () => {
  let h: Harness;

  beforeAll(async () => {
    // Small embedding batches keep the crash test's stream long enough to kill it in the middle.
    h = await startHarness("res", {
      TAILOR_INGESTION_MAX_TEXT_BYTES: "3000000",
      TAILOR_EMBEDDING_BATCH_MESSAGES: "4",
    });
  }, 300_000);
  afterAll(async () => {
    await h?.close();
  });

  const stats = (tenant: string) => h.retrieval.stats({ tenant });

  it("malformed events go to the dead-letter stream with a reason and the pipeline keeps flowing", async () => {
    const subj = (op: string) => h.bus.subjects.data("acme", "crm", op as "upsert");
    const ce = (data: unknown) =>
      Buffer.from(
        JSON.stringify({
          specversion: "1.0",
          id: `e-${Math.random()}`,
          source: "/test",
          type: Events.dataUpsert.type,
          data,
        }),
      );
    const raw = (subject: string, body: Uint8Array, contentType: string, id: string) =>
      h.bus.publishRaw(subject, body, {
        id,
        type: Events.dataUpsert.type,
        source: "/test",
        contentType,
      });
    await raw(subj("upsert"), Buffer.from("{not json at all"), CLOUDEVENTS_JSON, "bad-json");
    await raw(
      subj("upsert"),
      ce({ title: "no id", text: "hello" }),
      CLOUDEVENTS_JSON,
      "missing-id",
    );
    await raw(subj("frobnicate"), ce({ id: "x1", text: "hello" }), CLOUDEVENTS_JSON, "unknown-op");
    // Over the 3 MB limit: it travels by claim check and is refused by its declared size.
    await publishDataEvent(
      h.bus,
      "acme",
      "crm",
      "upsert",
      { id: "big", text: "word ".repeat(700_000) },
      { eventId: "too-big" },
    );
    const invalidUtf8 = Buffer.concat([
      Buffer.from(
        '{"specversion":"1.0","id":"u","source":"/t","type":"t","data":{"id":"u1","text":"bad ',
      ),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}}'),
    ]);
    await raw(subj("upsert"), invalidUtf8, CLOUDEVENTS_JSON, "bad-utf8");
    await raw(
      subj("upsert"),
      new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      "application/protobuf",
      "bad-protobuf",
    );
    // A message of another type is not a DataEvent either: the wrong protobuf. Protobuf has no type
    // tag, so its bytes decode into nonsense fields, which validation then refuses.
    await raw(
      subj("upsert"),
      toBinary(
        ChunksDeletedSchema,
        create(ChunksDeletedSchema, { tenant: "acme", chunkIds: ["a"] }),
      ),
      "application/protobuf",
      "wrong-protobuf",
    );
    await raw(
      subj("upsert"),
      ce({ id: "html", text: "<p>hi</p>", content_type: "image/png" }),
      CLOUDEVENTS_JSON,
      "bad-type",
    );
    await publishDataEvent(h.bus, "acme", "crm", "upsert", {
      id: "good-1",
      text: "After the poison, the zqgood1 document still flows.",
    });

    await waitFor(
      async () =>
        (
          await h.retrieval.search({
            tenant: "acme",
            query: "zqgood1",
            k: 3,
            mode: SearchMode.KEYWORD,
          })
        ).hits.length === 1,
      {
        what: "good document searchable after poison",
      },
    );
    const dlq = await h.bus.js.consumers.get(h.bus.subjects.stream("DLQ"));
    const reasons = new Map<string, string>();
    await waitFor(
      async () => {
        const m = await dlq.next({ expires: 1000 });
        if (m)
          reasons.set(m.headers?.get("ce-id") ?? "", m.headers?.get("tailor-dlq-reason") ?? "");
        return reasons.size >= 8;
      },
      { timeoutMs: 60_000, what: "eight dead letters" },
    );
    expect(reasons.get("bad-json")).toMatch(/not a CloudEvents JSON document/);
    expect(reasons.get("missing-id")).toMatch(/data\.id/);
    expect(reasons.get("unknown-op")).toMatch(/unknown op "frobnicate"/);
    expect(reasons.get("too-big")).toMatch(/over the configured limit of 3000000/);
    expect(reasons.get("bad-utf8")).toMatch(/not a CloudEvents JSON document/);
    expect(reasons.get("bad-protobuf")).toMatch(/not a valid tailor\.events\.v1\.DataEvent/);
    expect(reasons.get("wrong-protobuf")).toMatch(/unsupported content type/);
    expect(reasons.get("bad-type")).toMatch(/unsupported content type/);
    const docs = Number(
      (await h.sql.query("select count(*)::int n from ingestion.documents where tenant = 'acme'"))
        .rows[0].n,
    );
    expect(docs).toBe(1);
  });

  it("a document larger than the NATS payload limit travels by claim check", async () => {
    const paragraph = "Claim checks carry large payloads through the object store. ";
    const text = `${paragraph.repeat(25_000)} The end marker is zqclaimend.`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(h.bus.maxPayload);
    const r = await publishDataEvent(h.bus, "bigco", "files", "upsert", {
      id: "huge",
      title: "Huge",
      text,
    });
    expect(r.claimed).toBe(true);
    await waitFor(
      async () =>
        (
          await h.retrieval.search({
            tenant: "bigco",
            query: "zqclaimend",
            k: 1,
            mode: SearchMode.KEYWORD,
          })
        ).hits[0]?.documentId === "huge",
      {
        timeoutMs: 120_000,
        what: "claim-checked document searchable",
      },
    );
    const got = await h.ingestion.getDocument({ tenant: "bigco", source: "files", id: "huge" });
    expect(got.document?.chunkCount).toBeGreaterThan(100);
  });

  it("the embedding service killed with SIGKILL mid-stream loses nothing and duplicates nothing", async () => {
    const n = 1000;
    const BUCKETS = 10;
    const jobs = [];
    for (let i = 0; i < n; i++) {
      jobs.push(
        publishDataEvent(h.bus, "crash", "crm", "upsert", {
          id: `c-${i}`,
          title: `Crash ${i}`,
          text: `Record ${i} of the crash test with marker zqcrash${i}y. ${"Filler sentence about logistics and shipping. ".repeat(40)}`,
          // Buckets small enough that one search per bucket lists every chunk of it.
          metadata: { bucket: String(i % BUCKETS) },
        }),
      );
    }
    await Promise.all(jobs);
    await waitFor(async () => Number((await stats("crash")).chunks) > 0, {
      what: "some chunks indexed",
      intervalMs: 20,
    });
    await h.stack.kill("embedding");
    const mid = Number((await stats("crash")).chunks);
    await new Promise((r) => setTimeout(r, 1500));
    h.stack.startService("embedding");
    await h.stack.waitHealthy(120_000, ["embedding"]);
    await waitFor(async () => Number((await stats("crash")).documents) === n, {
      timeoutMs: 180_000,
      what: "all crash documents searchable",
    });
    await h.settle();
    // Idempotent upserts keep counts equal even when events run twice; ids and revisions do not.
    const docs = (
      await h.sql.query<{ external_id: string; revision: string; chunk_count: number }>(
        "select external_id, revision::text, chunk_count from ingestion.documents where tenant = 'crash'",
      )
    ).rows;
    expect(docs.map((d) => d.external_id).sort()).toEqual(
      Array.from({ length: n }, (_, i) => `c-${i}`).sort(),
    );
    expect(docs.filter((d) => d.revision !== "1")).toEqual([]);
    const rows = (
      await h.sql.query<{ chunk_id: string; revision: string }>(
        "select chunk_id, revision::text from ingestion.chunks where tenant = 'crash'",
      )
    ).rows;
    const expected = docs.flatMap((d) =>
      Array.from({ length: d.chunk_count }, (_, idx) =>
        chunkId({ tenant: "crash", source: "crm", id: d.external_id }, 1n, idx),
      ),
    );
    expect(rows.filter((r) => r.revision !== "1")).toEqual([]);
    const pgChunks = new Set(rows.map((r) => r.chunk_id));
    expect(pgChunks.size).toBe(rows.length);
    expect([...pgChunks].sort()).toEqual(expected.sort());
    // Every chunk the index holds, read back bucket by bucket: the same set, each chunk once.
    const indexed: string[] = [];
    for (let b = 0; b < BUCKETS; b++) {
      const r = await h.retrieval.search({
        tenant: "crash",
        query: "record crash test marker filler sentence logistics shipping",
        k: 1000,
        mode: SearchMode.KEYWORD,
        metadata: { bucket: String(b) },
      });
      expect(r.hits.length, `bucket ${b} fits one page`).toBeLessThan(1000);
      indexed.push(...r.hits.map((x) => x.chunkId));
    }
    expect(new Set(indexed).size).toBe(indexed.length);
    expect(indexed.sort()).toEqual([...pgChunks].sort());
    const s = await stats("crash");
    expect(mid).toBeLessThan(pgChunks.size);
    expect(Number(s.chunks)).toBe(pgChunks.size);
    expect(Number(s.vectors)).toBe(pgChunks.size);
    const hit = await h.retrieval.search({
      tenant: "crash",
      query: "zqcrash377y",
      k: 2,
      mode: SearchMode.KEYWORD,
    });
    expect(hit.hits[0]?.documentId).toBe("c-377");
  }, 300_000);

  it("a wiped retrieval index is rebuilt by replaying the embedding stream", async () => {
    await h.settle();
    const before = await stats("crash");
    await h.stack.kill("retrieval");
    await rm(join(h.dataDir, "retrieval"), { recursive: true, force: true });
    h.stack.startService("retrieval");
    await h.stack.waitHealthy(120_000, ["retrieval"]);
    await waitFor(async () => (await stats("crash")).chunks === before.chunks, {
      timeoutMs: 120_000,
      what: "index rebuilt by replay",
    });
    const after = await stats("crash");
    expect(after.documents).toBe(before.documents);
    expect(after.vectors).toBe(before.vectors);
    const hit = await h.retrieval.search({
      tenant: "crash",
      query: "zqcrash377y",
      k: 2,
      mode: SearchMode.KEYWORD,
    });
    expect(hit.hits[0]?.documentId).toBe("c-377");
  }, 300_000);
});
