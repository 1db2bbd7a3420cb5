import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CheckChunksRequestSchema } from "@tailor/proto";
import { describe, expect, it } from "vitest";
import { ChunkCatalog } from "../catalog.js";
import { checkChunks } from "./check-chunks.js";

const payload = (tenant: string, documentId: string, index: number) => ({
  tenant,
  source: "s",
  documentId,
  title: "",
  text: "",
  index,
  metadata: {},
  revision: 1,
  modelVersion: "m@1",
});

describe("CheckChunks", () => {
  const catalog = new ChunkCatalog();
  catalog.put("acme", "c1", payload("acme", "d", 0));
  catalog.put("acme", "c2", payload("acme", "d", 1));
  catalog.put("globex", "c3", payload("globex", "e", 0));
  const check = (tenant: string, chunkIds: string[]) =>
    checkChunks(catalog, "m@1", create(CheckChunksRequestSchema, { tenant, chunkIds }));

  it("lists the ids the tenant's index does not hold, in request order", () => {
    const r = check("acme", ["c9", "c1", "c3", "c2"]);
    expect(r.missingChunkIds).toEqual(["c9", "c3"]);
    expect(r.modelVersion).toBe("m@1");
  });

  it.each([
    ["", ["c1"], "tenant"],
    ["acme corp", ["c1"], "tenant"],
    ["acme", [], "chunk_ids"],
    ["acme", Array.from({ length: 1001 }, (_, i) => `c${i}`), "chunk_ids"],
    ["acme", ["c1", "x".repeat(129)], "chunk_ids[1]"],
  ])("refuses tenant %j with %#: INVALID_ARGUMENT naming %s", (tenant, ids, field) => {
    let err: unknown;
    try {
      check(tenant, ids);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage.startsWith(`${field}:`)).toBe(true);
  });
});
