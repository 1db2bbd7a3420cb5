import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CheckChunksRequestSchema } from "@tailor/proto";
import { EmbeddedVectorStore } from "@tailor/vector";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChunkCatalog } from "../catalog.js";
import { checkChunks } from "./check-chunks.js";

const payload = (tenant: string, documentId: string, index: number, modelVersion = "m@1") => ({
  tenant,
  source: "s",
  documentId,
  title: "",
  text: "",
  index,
  metadata: {},
  revision: 1,
  modelVersion,
});

describe("CheckChunks", () => {
  const catalog = new ChunkCatalog();
  let dir = "";
  let store: EmbeddedVectorStore;
  const rec = (tenant: string, id: string, doc: string, i: number, v = "m@1") => ({
    id,
    vector: Float32Array.of(1, i, 0),
    payload: payload(tenant, doc, i, v),
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tailor-check-chunks-"));
    store = new EmbeddedVectorStore({ dir });
    await store.open();
    await store.upsert("acme", "m@1", [rec("acme", "c1", "d", 0), rec("acme", "c2", "d", 1)]);
    await store.upsert("globex", "m@1", [rec("globex", "c3", "e", 0)]);
    // Only in another index version: not searchable at the served one yet.
    await store.upsert("acme", "m@2", [rec("acme", "c4", "d", 2, "m@2")]);
    catalog.put("acme", "c1", payload("acme", "d", 0));
    catalog.put("acme", "c2", payload("acme", "d", 1));
    catalog.put("acme", "c4", payload("acme", "d", 2, "m@2"));
    catalog.put("globex", "c3", payload("globex", "e", 0));
  });
  afterAll(async () => {
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const check = (tenant: string, chunkIds: string[], version = "m@1") =>
    checkChunks(catalog, store, version, create(CheckChunksRequestSchema, { tenant, chunkIds }));

  it("lists the ids the tenant's served index version does not hold, in request order", async () => {
    const r = await check("acme", ["c9", "c1", "c3", "c4", "c2"]);
    expect(r.missingChunkIds).toEqual(["c9", "c3", "c4"]);
    expect(r.modelVersion).toBe("m@1");
    expect((await check("acme", ["c1", "c4"], "m@2")).missingChunkIds).toEqual(["c1"]);
  });

  it("answers from keyword search alone while no served version is known", async () => {
    expect((await check("acme", ["c4", "c9"], "")).missingChunkIds).toEqual(["c9"]);
  });

  it.each([
    ["", ["c1"], "tenant"],
    ["acme corp", ["c1"], "tenant"],
    ["acme", [], "chunk_ids"],
    ["acme", Array.from({ length: 1001 }, (_, i) => `c${i}`), "chunk_ids"],
    ["acme", ["c1", "x".repeat(129)], "chunk_ids[1]"],
  ])("refuses tenant %j with %#: INVALID_ARGUMENT naming %s", async (tenant, ids, field) => {
    const err = await check(tenant, ids).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage.startsWith(`${field}:`)).toBe(true);
  });
});
