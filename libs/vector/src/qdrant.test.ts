import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { runVectorStoreContract } from "./contract.test-suite.js";
import { pointId, QdrantVectorStore, qdrantCollectionName } from "./qdrant-store.js";

const url = process.env["TAILOR_QDRANT_URL"];

describe("qdrant naming", () => {
  it("derives stable v5-style UUIDs that differ per tenant", () => {
    const id = pointId("a", "chunk-1");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(pointId("a", "chunk-1")).toBe(id);
    expect(pointId("b", "chunk-1")).not.toBe(id);
  });

  it("sanitises collection names injectively", () => {
    expect(qdrantCollectionName("bge-small")).toBe("tailor_bge-small");
    expect(qdrantCollectionName("a/b")).not.toBe(qdrantCollectionName("a_b"));
  });
});

describe.skipIf(!url)("qdrant", () => {
  runVectorStoreContract("qdrant", () => {
    const prefix = `t${randomUUID().slice(0, 8)}_`;
    const store = new QdrantVectorStore({ url: url ?? "" });
    return {
      prefix,
      create: async () => store,
      cleanup: async () => {
        for (const c of await store.collections()) {
          if (c.startsWith(prefix))
            await fetch(`${url}/collections/${qdrantCollectionName(c)}`, { method: "DELETE" });
        }
      },
    };
  });
});
