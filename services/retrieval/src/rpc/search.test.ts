import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { analyze, KeywordIndex } from "@tailor/keyword";
import {
  LinearRerankerSchema,
  ModelService,
  RegistryService,
  RetrievalSpecSchema,
  SearchMode,
  SearchRequestSchema,
} from "@tailor/proto";
import { RpcServer } from "@tailor/service";
import { createLogger } from "@tailor/telemetry";
import { freePort, rpcError } from "@tailor/testing";
import { type ChunkPayload, EmbeddedVectorStore } from "@tailor/vector";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChunkCatalog } from "../catalog.js";
import type { HybridConfig } from "../config.js";
import { IndexState } from "../index-state.js";
import { FEATURE_NAMES } from "../ranking/features.js";
import { Searcher } from "../searcher.js";
import { RegistryDouble } from "../test-support/registry-double.js";
import { VersionResolver } from "../versions/resolver.js";
import { defaultSpec } from "../versions/spec.js";
import { type SearchContext, search } from "./search.js";

const logger = createLogger("search-test", "silent");
const DIM = 32;
const hybrid: HybridConfig = {
  fusion: "linear",
  denseWeight: 0.2,
  candidates: 100,
  rm3: { docs: 10, terms: 10, weight: 0.5 },
};

/** A stand-in embedder: hashed analysed terms, L2-normalised (deterministic, no model). */
function embed(text: string): Float32Array {
  const v = new Float32Array(DIM);
  for (const t of analyze(text)) {
    let h = 2166136261;
    for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 16777619);
    v[(h >>> 0) % DIM]! += 1;
  }
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}

const DOCS: Record<string, [title: string, text: string]> = {
  anchor: ["Parental leave policy", "Parental leave for new parents lasts sixteen weeks."],
  annual: ["Annual leave", "Annual leave is twenty five days a year."],
  sick: ["Sick leave", "Report sick leave to your manager on the first day."],
  long: [
    "Handbook",
    `Everything about working here, including one note on leave. ${"Offices, desks, lunches, plants, printers, keys, badges, parking and travel. ".repeat(30)}`,
  ],
  plants: ["Office plants", "Water the plants on Fridays."],
};

const spec = (o: MessageInitShape<typeof RetrievalSpecSchema> = {}) =>
  create(RetrievalSpecSchema, {
    embedder: "fake@1",
    bm25K1: 0.9,
    bm25B: 0.4,
    denseWeight: 0.3,
    candidates: 20,
    ...o,
  });

describe("Search at a registry version", () => {
  let dir: string;
  let store: EmbeddedVectorStore;
  let models: RpcServer;
  let registry: RegistryDouble;
  let ctx: SearchContext;
  const v: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tailor-search-test-"));
    store = new EmbeddedVectorStore({ dir: join(dir, "vectors") });
    await store.open();
    const state = new IndexState(join(dir, "state"));
    await state.open();
    state.defaultVersion = "fake@1";
    const keyword = new KeywordIndex();
    const catalog = new ChunkCatalog();
    for (const tenant of ["acme", "globex"]) {
      for (const [id, [title, text]] of Object.entries(DOCS)) {
        const payload: ChunkPayload = {
          tenant,
          source: "s",
          documentId: id,
          title,
          text,
          index: 0,
          metadata: {},
          revision: 1,
          modelVersion: "fake@1",
        };
        keyword.add(tenant, id, { title, text, source: "s", metadata: {} });
        catalog.put(tenant, id, payload);
        await store.upsert(tenant, "fake@1", [{ id, vector: embed(`${title}\n${text}`), payload }]);
      }
    }
    models = new RpcServer({
      host: "127.0.0.1",
      port: 0,
      services: [ModelService],
      logger,
      routes: (router) =>
        router.service(ModelService, {
          embed: (req) => {
            const out = new Float32Array(req.texts.length * DIM);
            for (const [i, t] of req.texts.entries()) out.set(embed(t), i * DIM);
            return {
              model: "fake",
              version: "1",
              dimensions: DIM,
              vectors: new Uint8Array(out.buffer),
            };
          },
        }),
    });
    await models.listen();
    registry = new RegistryDouble();
    await registry.listen();
    v.base = registry.register("acme", spec());
    v.rerank = registry.register(
      "acme",
      spec({
        reranker: create(LinearRerankerSchema, {
          features: ["log_length", "not_a_feature"],
          weights: [1, 5],
          mean: [0, 0],
          std: [1, 1],
          depth: 0,
        }),
      }),
    );
    v.rm3 = registry.register("acme", spec({ rm3Docs: 2, rm3Terms: 5, rm3Weight: 0.5 }));
    v.noIndex = registry.register("acme", spec({ embedder: "other@9" }));
    const resolverAt = (url: string) =>
      new VersionResolver(createClient(RegistryService, createGrpcTransport({ baseUrl: url })), {
        specCacheSize: 100,
        aliasCacheSize: 100,
        timeoutMs: 2000,
        baseSpec: () => undefined,
        fallback: () => defaultSpec(hybrid),
        hasData: (t) => t !== "empty",
        logger,
      });
    ctx = {
      searcher: new Searcher(
        store,
        keyword,
        catalog,
        state,
        `http://127.0.0.1:${models.port}`,
        logger,
      ),
      resolver: resolverAt(registry.url),
      defaults: hybrid,
    };
  });

  afterAll(async () => {
    await models?.close(0);
    await registry?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const ask = (o: MessageInitShape<typeof SearchRequestSchema>) =>
    search(
      ctx,
      create(SearchRequestSchema, { tenant: "acme", query: "parental leave", k: 5, ...o }),
    );

  it("searches at the version or alias asked for and names it and its embedder", async () => {
    for (const [req, version] of [
      [{ version: v.base }, v.base],
      [{ alias: "prod" }, v.base],
      [{}, v.base],
      [{ version: v.rm3, mode: SearchMode.KEYWORD }, v.rm3],
      [{ version: v.rm3, mode: SearchMode.DENSE }, v.rm3],
    ] as const) {
      const r = await ask(req);
      expect(r.version).toBe(version);
      expect(r.modelVersion).toBe("fake@1");
      expect(r.warnings).toEqual([]);
      expect(r.hits.length).toBeGreaterThan(0);
      expect(new Set(r.hits.map((h) => h.modelVersion))).toEqual(new Set(["fake@1"]));
    }
    expect((await ask({ version: v.base })).hits[0]?.chunkId).toBe("anchor");
  });

  it("lets the version's reranker reorder hybrid candidates, not one-sided modes", async () => {
    expect((await ask({ version: v.base })).hits[0]?.chunkId).not.toBe("long");
    const reranked = await ask({ version: v.rerank });
    // The longest chunk scores highest on log_length; a feature it does not know counts 0.
    expect(reranked.hits[0]?.chunkId).toBe("long");
    expect(reranked.hits.map((h) => h.chunkId).sort()).toEqual(
      (await ask({ version: v.base })).hits.map((h) => h.chunkId).sort(),
    );
    expect((await ask({ version: v.rerank, mode: SearchMode.KEYWORD })).hits[0]?.chunkId).toBe(
      "anchor",
    );
  });

  it("returns each hit's features by name, deterministically, only when asked", async () => {
    expect(
      (await ask({ version: v.base })).hits.every((h) => Object.keys(h.features).length === 0),
    ).toBe(true);
    const a = await ask({ version: v.base, withFeatures: true, k: 10 });
    const b = await ask({ version: v.base, withFeatures: true, k: 10 });
    expect(a.hits.map((h) => h.features)).toEqual(b.hits.map((h) => h.features));
    for (const h of a.hits) {
      const f = h.features;
      expect(Object.keys(f).sort()).toEqual([...FEATURE_NAMES].sort());
      expect(f["fused"]).toBe(h.score);
      expect(f["dense"]).toBe(h.denseScore);
      // No RM3 in this version: the keyword side is plain BM25, computed for every candidate.
      if (h.keywordScore > 0) expect(f["bm25"]).toBe(h.keywordScore);
      expect(f["rm3"]).toBe(0);
      expect(f["log_length"]).toBeGreaterThan(0);
    }
    const anchor = a.hits.find((h) => h.chunkId === "anchor")!.features;
    expect(anchor).toMatchObject({ title_match: 1, rank_keyword: 1, dense_present: 1 });
    const plants = a.hits.find((h) => h.chunkId === "plants");
    if (plants) expect(plants.features["bm25"]).toBe(0);
    const rm3 = await ask({ version: v.rm3, withFeatures: true });
    for (const h of rm3.hits)
      if (h.keywordScore > 0) expect(h.features["rm3"]).toBe(h.keywordScore);
    expect(rm3.hits[0]!.features["rm3"]).toBeGreaterThan(0);
  });

  it("refuses hostile version, alias and routing_key values, naming the field", async () => {
    const hostile = ["a\u0001b", "a\u0000b", "x\ud800y", "x".repeat(1024 * 1024), "a\u007fb"];
    for (const field of ["version", "alias", "routingKey"] as const) {
      const name = field === "routingKey" ? "routing_key" : field;
      for (const value of hostile) {
        const err = await rpcError(ask({ [field]: value }));
        expect(err?.code, `${name} ${JSON.stringify(value.slice(0, 8))}`).toBe(
          Code.InvalidArgument,
        );
        expect(err?.rawMessage.startsWith(`${name}: `)).toBe(true);
      }
    }
    for (const version of ["retrieval@vX", "adapter@v1", "retrieval@v0", " retrieval@v1"]) {
      expect((await rpcError(ask({ version })))?.rawMessage).toMatch(/^version: /);
    }
    expect((await rpcError(ask({ alias: "Prod!" })))?.rawMessage).toMatch(/^alias: /);
    const both = await rpcError(ask({ version: v.base, alias: "prod" }));
    expect(both?.code).toBe(Code.InvalidArgument);
    expect(both?.rawMessage).toMatch(/^alias: /);
  });

  it("keeps tenants apart: another tenant's version is not found", async () => {
    const err = await rpcError(ask({ tenant: "globex", version: v.base }));
    expect(err?.code).toBe(Code.NotFound);
    expect(err?.rawMessage).toContain(v.base);
  });

  it("refuses a version whose index the tenant does not have", async () => {
    const err = await rpcError(ask({ version: v.noIndex }));
    expect(err?.code).toBe(Code.FailedPrecondition);
    expect(err?.rawMessage).toMatch(
      new RegExp(`^version ${v.noIndex}: .*no index version other@9`),
    );
  });

  it("searches a bare model_version outside the registry; with a version it must agree", async () => {
    const r = await ask({ modelVersion: "fake@1" });
    expect(r.version).toBe("");
    expect(r.modelVersion).toBe("fake@1");
    const err = await rpcError(ask({ version: v.noIndex, modelVersion: "fake@1" }));
    expect(err?.rawMessage).toMatch(/^model_version: /);
  });

  it("falls back to the defaults, with a warning, when the registry is unreachable", async () => {
    const down: SearchContext = {
      ...ctx,
      resolver: new VersionResolver(
        createClient(
          RegistryService,
          createGrpcTransport({ baseUrl: `http://127.0.0.1:${await freePort()}` }),
        ),
        {
          specCacheSize: 10,
          aliasCacheSize: 10,
          timeoutMs: 1000,
          baseSpec: () => undefined,
          fallback: () => defaultSpec(hybrid),
          hasData: (t) => t !== "empty",
          logger,
        },
      ),
    };
    const r = await search(down, create(SearchRequestSchema, { tenant: "acme", query: "leave" }));
    expect(r.version).toBe("");
    expect(r.modelVersion).toBe("fake@1");
    expect(r.hits.length).toBeGreaterThan(0);
    expect(r.warnings.join(" ")).toMatch(/registry/);
    const named = await rpcError(
      search(
        down,
        create(SearchRequestSchema, { tenant: "acme", query: "leave", version: v.base }),
      ),
    );
    expect(named?.code).toBe(Code.Unavailable);
  });
});
