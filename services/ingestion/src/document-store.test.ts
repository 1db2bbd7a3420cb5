import { Subjects } from "@tailor/bus";
import { Database } from "@tailor/db";
import { createTestDatabase, type TestDatabase } from "@tailor/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { migrations } from "./db/migrations.js";
import type { IngestionDB } from "./db/schema.js";
import { type DocumentInputData, DocumentStore, type WriteOrder } from "./document-store.js";
import { isDocumentRejectedError } from "./store-errors.js";

const doc = (
  id: string,
  text: string,
  extra: Partial<DocumentInputData> = {},
): DocumentInputData => ({
  tenant: "acme",
  source: "crm",
  id,
  title: "",
  text,
  contentType: "text/plain",
  metadata: {},
  ...extra,
});
const ev = (seq: number): WriteOrder => ({ kind: "event", seq });
const call = (position: number): WriteOrder => ({ kind: "call", position });

describe("DocumentStore against real PostgreSQL", () => {
  let tdb: TestDatabase;
  let database: Database<IngestionDB>;
  let store: DocumentStore;

  beforeAll(async () => {
    tdb = await createTestDatabase("docstore");
    database = new Database<IngestionDB>({
      url: tdb.url,
      schema: "ingestion",
      migrations,
      poolSize: 4,
    });
    await database.migrate();
    store = new DocumentStore(database, {
      chunk: { maxTokens: 64, overlapTokens: 8 },
      subjects: new Subjects(""),
      maxEventBytes: 1024 * 1024 - 16 * 1024,
    });
  });
  afterAll(async () => {
    await database?.destroy();
    await tdb?.drop();
  });
  beforeEach(async () => {
    await database.db.deleteFrom("documents").execute();
    await database.db.deleteFrom("chunks").execute();
    await database.db.deleteFrom("outbox").execute();
  });

  const row = (id: string) =>
    database.db
      .selectFrom("documents")
      .selectAll()
      .where("external_id", "=", id)
      .executeTakeFirst();

  it("stores the good documents of a batch and rejects only those the database refuses", async () => {
    const results = await store.upsertMany([
      { doc: doc("good-1", "First good document."), order: ev(1) },
      // Edge validation would refuse these; here they reach the database to test isolation.
      { doc: doc("nul", "plain text", { title: "holds a \u0000 in the middle" }), order: ev(2) },
      { doc: doc("good-2", "Second good document."), order: ev(3) },
      { doc: doc("surrogate", "fine text", { metadata: { k: "bad \ud800 value" } }), order: ev(4) },
      { doc: doc("good-3", "Third good document."), order: ev(5) },
    ]);
    expect(results.map((r) => ("error" in r ? "error" : r.status))).toEqual([
      "created",
      "error",
      "created",
      "error",
      "created",
    ]);
    const nul = results[1] as { error: unknown };
    expect(isDocumentRejectedError(nul.error)).toBe(true);
    expect(String((nul.error as Error).message)).toMatch(/SQLSTATE 22021/);
    // The reason never quotes the document.
    expect(String((results[3] as { error: Error }).error.message)).not.toContain("bad");
    const stored = await database.db
      .selectFrom("documents")
      .select("external_id")
      .orderBy("external_id")
      .execute();
    expect(stored.map((r) => r.external_id)).toEqual(["good-1", "good-2", "good-3"]);
    const outbox = await database.db.selectFrom("outbox").select("msg_id").execute();
    expect(outbox.length).toBe(3);
  });

  it("keeps U+FFFD where decoding a valid body produced NUL or a lone surrogate", async () => {
    const [r] = await store.upsertMany([
      {
        doc: doc("json-escapes", JSON.stringify({ a: "x\u0000y", b: "z\ud800w" }), {
          contentType: "application/json",
        }),
        order: ev(9),
      },
    ]);
    expect(r && !("error" in r) && r.status).toBe("created");
    const chunks = await database.db
      .selectFrom("chunks")
      .select("text")
      .where("external_id", "=", "json-escapes")
      .execute();
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.map((c) => c.text).join(" ")).toMatch(/x\ufffdy.*z\ufffdw/s);
  });

  it("orders bus events and RPC calls by one position: redelivery never undoes a newer write", async () => {
    expect((await store.upsert(doc("a", "version one"), ev(5))).status).toBe("created");
    expect((await store.upsert(doc("b", "version one"), ev(6))).status).toBe("created");
    // RPC calls at the stream's last sequence (6): newer than both bus events.
    expect((await store.upsert(doc("a", "version two"), call(6))).status).toBe("updated");
    expect((await store.delete({ tenant: "acme", source: "crm", id: "b" }, call(6))).found).toBe(
      true,
    );
    // The bus events come again (consumer reset, replay): both are stale no-ops.
    expect((await store.upsert(doc("a", "version one"), ev(5))).status).toBe("stale");
    expect((await store.upsert(doc("b", "version one"), ev(6))).status).toBe("stale");
    expect((await row("a"))?.version).toBe(
      (await store.upsert(doc("a", "version two"), call(6))).version,
    );
    expect((await row("b"))?.deleted).toBe(true);
    // A bus event published after the calls is newer and applies.
    expect((await store.upsert(doc("b", "version three"), ev(7))).status).toBe("created");
    expect((await row("b"))?.data_position).toBe("7");
    // The same event delivered twice: the second is already applied.
    expect((await store.upsert(doc("b", "version three"), ev(7))).status).toBe("stale");
  });

  it("a bus delete of an unseen document leaves a tombstone that an older upsert cannot pass", async () => {
    expect((await store.delete({ tenant: "acme", source: "crm", id: "late" }, ev(10))).found).toBe(
      false,
    );
    expect((await store.upsert(doc("late", "published before the delete"), ev(9))).status).toBe(
      "stale",
    );
    expect((await row("late"))?.deleted).toBe(true);
    expect((await store.upsert(doc("late", "published after the delete"), ev(11))).status).toBe(
      "created",
    );
  });

  it("an unchanged event still advances the position, so an older one redelivered later is stale", async () => {
    await store.upsert(doc("u", "same"), ev(5));
    expect((await store.upsert(doc("u", "same"), ev(8))).status).toBe("unchanged");
    expect((await store.upsert(doc("u", "older change"), ev(7))).status).toBe("stale");
    expect((await row("u"))?.data_position).toBe("8");
  });
});
