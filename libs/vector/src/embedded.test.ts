import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { payload, runVectorStoreContract } from "./contract.test-suite.js";
import { EmbeddedVectorStore } from "./embedded-store.js";

runVectorStoreContract("embedded", () => {
  const dir = mkdtempSync(join(tmpdir(), "tailor-vector-"));
  return {
    create: async () => new EmbeddedVectorStore({ dir }),
    reopen: async () => new EmbeddedVectorStore({ dir }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe("EmbeddedVectorStore log", () => {
  it("ignores a torn tail record and keeps earlier ones", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tailor-vector-"));
    try {
      const store = new EmbeddedVectorStore({ dir });
      await store.open();
      await store.upsert("a", "c", [
        { id: "x", vector: Float32Array.of(1, 0, 0, 0), payload: payload("a", "x") },
      ]);
      await store.flush();
      const wal = readdirSync(dir).find((n) => n.startsWith("wal-"))!;
      appendFileSync(join(dir, wal), Buffer.from([200, 0, 0, 0, 1, 2, 3]));
      const reopened = new EmbeddedVectorStore({ dir });
      await reopened.open();
      expect(await reopened.count("a", "c")).toBe(1);
      await reopened.upsert("a", "c", [
        { id: "y", vector: Float32Array.of(0, 1, 0, 0), payload: payload("a", "y") },
      ]);
      await reopened.close();
      const third = new EmbeddedVectorStore({ dir });
      await third.open();
      expect(await third.count("a", "c")).toBe(2);
      await third.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("EmbeddedVectorStore drop", () => {
  it("replays a logged drop after a crash (no close, no snapshot)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tailor-vector-"));
    try {
      const store = new EmbeddedVectorStore({ dir });
      await store.open();
      const rec = (t: string) => ({
        id: "x",
        vector: Float32Array.of(1, 0, 0, 0),
        payload: payload(t, "x"),
      });
      await store.upsert("a", "v1", [rec("a")]);
      await store.upsert("b", "v1", [rec("b")]);
      expect(await store.drop("a", "v1")).toBe(1);
      await store.flush();
      const recovered = new EmbeddedVectorStore({ dir });
      await recovered.open();
      expect(await recovered.count("a", "v1")).toBe(0);
      expect(await recovered.count("b", "v1")).toBe(1);
      expect(await recovered.tenants()).toEqual(["b"]);
      await recovered.close();
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
