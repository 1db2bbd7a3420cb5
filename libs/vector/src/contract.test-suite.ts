import { mulberry32 } from "@tailor/models/random";
import { describe, expect, it } from "vitest";
import type { ChunkPayload, VectorRecord, VectorStore } from "./types.js";
import { normalized } from "./vector-math.js";

/** Builds a store; `reopen` (when given) returns a new store over the same persisted state. */
export interface ContractFactory {
  create(): Promise<VectorStore>;
  /** A second store over the same data, for persistence checks; omit for remote stores. */
  reopen?(): Promise<VectorStore>;
  cleanup(): Promise<void>;
  /** Unique collection prefix so runs against a shared server do not collide. */
  prefix?: string;
}

const DIM = 16;

export function payload(
  tenant: string,
  id: string,
  extra: Partial<ChunkPayload> = {},
): ChunkPayload {
  return {
    tenant,
    source: "wiki",
    documentId: `doc-${id}`,
    title: `title ${id}`,
    text: `text ${id}`,
    index: 0,
    metadata: {},
    revision: 1,
    modelVersion: "m1",
    ...extra,
  };
}

function randomVectors(n: number, dim: number, seed: number): Float32Array[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const v = new Float32Array(dim);
    for (let i = 0; i < dim; i++) v[i] = rng() * 2 - 1;
    return normalized(v);
  });
}

function axis(i: number, dim = DIM, tilt = 0): Float32Array {
  const v = new Float32Array(dim);
  v[i] = 1;
  v[(i + 1) % dim] = tilt;
  return normalized(v);
}

/** The behaviour every VectorStore backend must share. */
export function runVectorStoreContract(name: string, factory: () => ContractFactory): void {
  describe(`VectorStore contract: ${name}`, () => {
    const withStore = async (
      fn: (store: VectorStore, f: ContractFactory, col: string) => Promise<void>,
    ) => {
      const f = factory();
      const store = await f.create();
      await store.open();
      try {
        await fn(store, f, `${f.prefix ?? ""}c1`);
      } finally {
        await store.close();
        await f.cleanup();
      }
    };

    it("returns nearest first with cosine scores", () =>
      withStore(async (store, _f, col) => {
        await store.upsert("a", col, [
          { id: "x", vector: axis(0), payload: payload("a", "x") },
          { id: "y", vector: axis(0, DIM, 0.5), payload: payload("a", "y") },
          { id: "z", vector: axis(3), payload: payload("a", "z") },
        ]);
        const hits = await store.search("a", col, axis(0), 3);
        expect(hits.map((h) => h.id)).toEqual(["x", "y", "z"]);
        expect(hits[0]!.score).toBeCloseTo(1, 5);
        expect(hits[1]!.score).toBeCloseTo(1 / Math.sqrt(1.25), 5);
        expect(hits[0]!.payload.title).toBe("title x");
        const exact = await store.searchExact("a", col, axis(0), 2);
        expect(exact.map((h) => h.id)).toEqual(["x", "y"]);
      }));

    it("re-upserting is idempotent and replaces payload and vector", () =>
      withStore(async (store, _f, col) => {
        const recs: VectorRecord[] = [
          { id: "x", vector: axis(0), payload: payload("a", "x") },
          { id: "y", vector: axis(1), payload: payload("a", "y") },
        ];
        await store.upsert("a", col, recs);
        await store.upsert("a", col, recs);
        expect(await store.count("a", col)).toBe(2);
        await store.upsert("a", col, [
          { id: "x", vector: axis(5), payload: payload("a", "x", { title: "new" }) },
        ]);
        expect(await store.count("a")).toBe(2);
        const hits = await store.search("a", col, axis(5), 1);
        expect(hits[0]!.id).toBe("x");
        expect(hits[0]!.payload.title).toBe("new");
      }));

    it("deletes ids of one tenant only, ignoring unknown ids", () =>
      withStore(async (store, _f, col) => {
        await store.upsert("a", col, [{ id: "x", vector: axis(0), payload: payload("a", "x") }]);
        await store.upsert("b", col, [{ id: "x", vector: axis(0), payload: payload("b", "x") }]);
        await store.delete("a", ["x", "nope"]);
        expect(await store.count("a", col)).toBe(0);
        expect(await store.count("b", col)).toBe(1);
        expect(await store.search("a", col, axis(0), 5)).toEqual([]);
        expect((await store.search("b", col, axis(0), 5)).map((h) => h.id)).toEqual(["x"]);
      }));

    it("never shows one tenant's records to another, whatever the filter", () =>
      withStore(async (store, _f, col) => {
        await store.upsert("a", col, [
          {
            id: "secret",
            vector: axis(0),
            payload: payload("a", "secret", { source: "s", metadata: { k: "v" } }),
          },
        ]);
        await store.upsert("b", col, [
          { id: "mine", vector: axis(7), payload: payload("b", "mine") },
        ]);
        for (const filter of [undefined, { sources: ["s"] }, { metadata: { k: "v" } }]) {
          const ann = await store.search("b", col, axis(0), 10, filter);
          const exact = await store.searchExact("b", col, axis(0), 10, filter);
          expect([...ann, ...exact].some((h) => h.id === "secret")).toBe(false);
        }
        expect(await store.tenants()).toEqual(expect.arrayContaining(["a", "b"]));
        const scanned: string[] = [];
        for await (const r of store.scan("b", col)) scanned.push(r.id);
        expect(scanned).toEqual(["mine"]);
      }));

    it("filters by source and metadata", () =>
      withStore(async (store, _f, col) => {
        const recs = Array.from({ length: 40 }, (_, i) => ({
          id: `r${i}`,
          vector: axis(i % DIM, DIM, i / 40),
          payload: payload("a", `r${i}`, {
            source: i % 2 ? "odd" : "even",
            metadata: { bucket: String(i % 4) },
          }),
        }));
        await store.upsert("a", col, recs);
        const odd = await store.search("a", col, axis(0), 40, { sources: ["odd"] });
        expect(odd.length).toBe(20);
        expect(odd.every((h) => h.payload.source === "odd")).toBe(true);
        const b1 = await store.search("a", col, axis(0), 40, {
          sources: ["odd"],
          metadata: { bucket: "1" },
        });
        expect(b1.length).toBe(10);
        expect(b1.every((h) => h.payload.metadata["bucket"] === "1")).toBe(true);
        expect(await store.search("a", col, axis(0), 5, { metadata: { bucket: "9" } })).toEqual([]);
      }));

    it("drops one tenant's records of one collection only", () =>
      withStore(async (store, f, col) => {
        const col2 = `${f.prefix ?? ""}c2`;
        const recs = (t: string) => [
          { id: "x", vector: axis(0), payload: payload(t, "x") },
          { id: "y", vector: axis(1), payload: payload(t, "y") },
        ];
        await store.upsert("a", col, recs("a"));
        await store.upsert("a", col2, recs("a"));
        await store.upsert("b", col, recs("b"));
        expect(await store.drop("a", col)).toBe(2);
        await store.flush();
        expect(await store.count("a", col)).toBe(0);
        expect(await store.search("a", col, axis(0), 5)).toEqual([]);
        expect(await store.has("a", col, ["x", "y"])).toEqual(new Set());
        expect(await store.has("a", col2, ["y", "nope"])).toEqual(new Set(["y"]));
        expect(await store.has("b", col, ["x", "y"])).toEqual(new Set(["x", "y"]));
        expect(await store.count("a", col2)).toBe(2);
        expect(await store.count("b", col)).toBe(2);
        expect((await store.search("b", col, axis(0), 1)).map((h) => h.id)).toEqual(["x"]);
        expect(await store.drop("a", col)).toBe(0);
        expect(await store.drop("a", `${f.prefix ?? ""}never`)).toBe(0);
        // The collection lives on for others, and the tenant can build it again.
        await store.upsert("a", col, recs("a").slice(0, 1));
        expect(await store.count("a", col)).toBe(1);
        if (f.reopen) {
          await store.drop("a", col2);
          await store.close();
          const again = await f.reopen();
          await again.open();
          try {
            expect(await again.count("a", col2)).toBe(0);
            expect(await again.count("a", col)).toBe(1);
            expect(await again.count("b", col)).toBe(2);
          } finally {
            await again.close();
          }
          await store.open();
        }
      }));

    it("keeps collections separate", () =>
      withStore(async (store, f, col) => {
        const col2 = `${f.prefix ?? ""}c2`;
        await store.upsert("a", col, [{ id: "x", vector: axis(0), payload: payload("a", "x") }]);
        await store.upsert("a", col2, [
          { id: "y", vector: axis(0, 8), payload: payload("a", "y") },
        ]);
        expect((await store.search("a", col, axis(0), 5)).map((h) => h.id)).toEqual(["x"]);
        expect((await store.search("a", col2, axis(0, 8), 5)).map((h) => h.id)).toEqual(["y"]);
        expect(await store.collections()).toEqual(expect.arrayContaining([col, col2]));
        expect(await store.count("a")).toBe(2);
        await expect(
          store.upsert("a", col2, [{ id: "z", vector: axis(0), payload: payload("a", "z") }]),
        ).rejects.toThrow();
      }));

    it("reaches recall@10 >= 0.9 on 5k random vectors", () =>
      withStore(async (store, _f, col) => {
        const dim = 32;
        const vecs = randomVectors(5000, dim, 1);
        const recs = vecs.map((vector, i) => ({
          id: `v${i}`,
          vector,
          payload: payload("a", `v${i}`),
        }));
        for (let i = 0; i < recs.length; i += 500)
          await store.upsert("a", col, recs.slice(i, i + 500));
        let found = 0;
        const queries = randomVectors(50, dim, 2);
        for (const q of queries) {
          const truth = new Set((await store.searchExact("a", col, q, 10)).map((h) => h.id));
          for (const h of await store.search("a", col, q, 10)) if (truth.has(h.id)) found++;
        }
        expect(found / (queries.length * 10)).toBeGreaterThanOrEqual(0.9);
      }));

    it.skipIf(!factory().reopen)("persists: close and reopen gives identical results", async () => {
      const f = factory();
      const col = `${f.prefix ?? ""}c1`;
      const vecs = randomVectors(1500, DIM, 3);
      const queries = randomVectors(10, DIM, 4);
      const store = await f.create();
      await store.open();
      await store.upsert(
        "a",
        col,
        vecs.map((vector, i) => ({ id: `v${i}`, vector, payload: payload("a", `v${i}`) })),
      );
      await store.delete("a", ["v1", "v2"]);
      const before = await Promise.all(queries.map((q) => store.search("a", col, q, 10)));
      await store.close();
      const again = await f.reopen!();
      await again.open();
      try {
        expect(await again.count("a", col)).toBe(1498);
        const after = await Promise.all(queries.map((q) => again.search("a", col, q, 10)));
        expect(after.map((hs) => hs.map((h) => [h.id, h.score.toFixed(5)]))).toEqual(
          before.map((hs) => hs.map((h) => [h.id, h.score.toFixed(5)])),
        );
      } finally {
        await again.close();
        await f.cleanup();
      }
    });

    it.skipIf(!factory().reopen)("replays the log after a crash (no close)", async () => {
      const f = factory();
      const col = `${f.prefix ?? ""}c1`;
      const crashed = await f.create();
      await crashed.open();
      await crashed.upsert("a", col, [
        { id: "x", vector: axis(0), payload: payload("a", "x") },
        { id: "y", vector: axis(1), payload: payload("a", "y") },
      ]);
      await crashed.delete("a", ["y"]);
      await crashed.flush();
      // No close(): the store is abandoned as if the process had died.
      const recovered = await f.reopen!();
      await recovered.open();
      try {
        expect(await recovered.count("a", col)).toBe(1);
        expect((await recovered.search("a", col, axis(0), 5)).map((h) => h.id)).toEqual(["x"]);
      } finally {
        await recovered.close();
        await f.cleanup();
      }
    });
  });
}
