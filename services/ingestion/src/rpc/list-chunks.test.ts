import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { IngestionService, type ListChunksRequestSchema, type ListedChunk } from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import {
  createTestDatabase,
  rpcError,
  type TestDatabase,
  testNatsUrl,
  uniquePrefix,
  withTestBusPrefix,
} from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseIngestionConfig } from "../config.js";
import { create, type IngestionServiceHandle } from "../service.js";

type Req = MessageInitShape<typeof ListChunksRequestSchema>;

describe("ListChunks (real PostgreSQL, NATS)", () => {
  let db: TestDatabase;
  let svc: IngestionServiceHandle;
  let cleanup: () => Promise<void>;
  let client: ReturnType<typeof createClient<typeof IngestionService>>;
  const prefix = uniquePrefix("listchunks");

  /** Every message of one stream, as pages of chunks. */
  const pages = async (req: Req): Promise<ListedChunk[][]> => {
    const out: ListedChunk[][] = [];
    for await (const m of client.listChunks(req)) out.push(m.chunks);
    return out;
  };
  const all = async (req: Req) => (await pages(req)).flat();
  const long = (n: number) =>
    Array.from({ length: n }, (_, i) => `Sentence ${i} about topic ${i % 7}.`).join(" ");

  beforeAll(async () => {
    db = await createTestDatabase("listchunks");
    cleanup = (await withTestBusPrefix(prefix)).cleanup;
    const config = parseIngestionConfig({
      TAILOR_NATS_URL: testNatsUrl(),
      TAILOR_DATABASE_URL: db.url,
      TAILOR_BUS_PREFIX: prefix,
      TAILOR_INGESTION_PORT: "0",
      TAILOR_INGESTION_CHUNK_TOKENS: "16",
      TAILOR_INGESTION_CHUNK_OVERLAP: "0",
    });
    svc = await create(config, { logger: createLogger("ingestion", "silent") });
    await svc.start();
    client = createClient(
      IngestionService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${svc.port}`, httpVersion: "1.1" }),
    );
    await client.ingestDocuments({
      tenant: "acme",
      source: "wiki",
      documents: [
        { id: "a", title: "Alpha", text: long(20), metadata: { lang: "en" } },
        { id: "b", title: "Beta", text: long(12) },
        { id: "gone", title: "Gone", text: long(8) },
      ],
    });
    await client.ingestDocuments({
      tenant: "acme",
      source: "crm",
      documents: [{ id: "c", title: "Gamma", text: long(6) }],
    });
    await client.ingestDocuments({
      tenant: "other",
      source: "wiki",
      documents: [{ id: "secret", title: "Other's", text: "Only the other tenant sees this." }],
    });
    await client.deleteDocument({ tenant: "acme", source: "wiki", id: "gone" });
    // An update replaces the chunks: only the new revision's are listed.
    await client.ingestDocuments({
      tenant: "acme",
      source: "wiki",
      documents: [{ id: "b", title: "Beta v2", text: long(10) }],
    });
  });
  afterAll(async () => {
    await svc?.destroy();
    await cleanup?.();
    await db?.drop();
  });

  it("streams every current chunk of the tenant once, in chunk id order, with its document", async () => {
    const chunks = await all({ tenant: "acme" });
    const ids = chunks.map((c) => c.chunkId);
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
    const docs = new Set(chunks.map((c) => `${c.source}/${c.documentId}`));
    expect(docs).toEqual(new Set(["wiki/a", "wiki/b", "crm/c"]));
    for (const id of ["a", "b", "c"]) {
      const { document, chunks: want } = await client.getDocument({
        tenant: "acme",
        source: id === "c" ? "crm" : "wiki",
        id,
        includeChunks: true,
      });
      const got = chunks.filter((c) => c.documentId === id).sort((x, y) => x.index - y.index);
      expect(got.map((c) => [c.chunkId, c.index, c.text])).toEqual(
        want.map((c) => [c.chunkId, c.index, c.text]),
      );
      for (const c of got) {
        expect(c.title).toBe(document?.title);
        expect(c.documentVersion).toBe(document?.version);
        expect(c.metadata).toEqual(document?.metadata);
      }
    }
    expect(chunks.find((c) => c.documentId === "b")?.title).toBe("Beta v2");
  });

  it("pages by page_size and resumes after the last id received", async () => {
    const full = await all({ tenant: "acme" });
    expect(full.length).toBeGreaterThan(5);
    const paged = await pages({ tenant: "acme", pageSize: 2 });
    expect(paged.every((p) => p.length <= 2 && p.length > 0)).toBe(true);
    expect(paged.flat().map((c) => c.chunkId)).toEqual(full.map((c) => c.chunkId));
    // A consumer that got the first three chunks and lost its stream resumes after the third.
    const resumed = await all({ tenant: "acme", pageSize: 2, after: full[2]!.chunkId });
    expect(resumed.map((c) => c.chunkId)).toEqual(full.slice(3).map((c) => c.chunkId));
    expect(await all({ tenant: "acme", after: full[full.length - 1]!.chunkId })).toEqual([]);
  });

  it("filters by source", async () => {
    const crm = await all({ tenant: "acme", sources: ["crm"] });
    expect(crm.length).toBeGreaterThan(0);
    expect(crm.every((c) => c.source === "crm" && c.documentId === "c")).toBe(true);
    const both = await all({ tenant: "acme", sources: ["crm", "wiki", "crm"] });
    expect(both.length).toBe((await all({ tenant: "acme" })).length);
  });

  it("never crosses tenants, not even when resuming after another tenant's chunk id", async () => {
    const other = await all({ tenant: "other" });
    expect(other.map((c) => c.documentId)).toEqual(["secret"]);
    const acme = await all({ tenant: "acme" });
    expect(acme.some((c) => c.documentId === "secret")).toBe(false);
    const fromOther = await all({ tenant: "acme", after: other[0]!.chunkId });
    expect(fromOther.some((c) => c.documentId === "secret" || c.text.includes("other"))).toBe(
      false,
    );
    expect(await all({ tenant: "nobody" })).toEqual([]);
  });

  it("refuses bad requests naming the field", async () => {
    const cases: [Req, string][] = [
      [{ tenant: "" }, "tenant"],
      [{ tenant: "a b" }, "tenant"],
      [{ tenant: "acme", pageSize: 1025 }, "page_size"],
      [{ tenant: "acme", sources: ["ok", "bad/source"] }, "sources[1]"],
      [{ tenant: "acme", after: "' or 1=1 --" }, "after"],
      [{ tenant: "acme", after: "A".repeat(32) }, "after"],
    ];
    for (const [req, field] of cases) {
      const err = await rpcError(all(req));
      expect(err?.code, field).toBe(Code.InvalidArgument);
      expect(err?.rawMessage.startsWith(`${field}:`), err?.rawMessage).toBe(true);
    }
  });
});
