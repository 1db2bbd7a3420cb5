import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import {
  DropIndexVersionRequestSchema,
  IngestionService,
  RegistryService,
  ResolveAliasResponseSchema,
} from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { EmbeddedVectorStore } from "@tailor/vector";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ChunkCatalog } from "../catalog.js";
import { IndexBuilder } from "../index-builder.js";
import { IndexState } from "../index-state.js";
import { type DropDeps, dropIndexVersion } from "./drop-index-version.js";

const logger = createLogger("retrieval-test", "silent");
const BASE = "glove@1";
const ADAPTED = "adapter@abc";

/** What the fake registry answers: the embedder an alias's version searches, or an error code. */
type AliasAnswer = string | Code;

describe("DropIndexVersion", () => {
  let dir = "";
  let store: EmbeddedVectorStore;
  let state: IndexState;
  let aliases: Record<string, AliasAnswer>;
  let deps: DropDeps;
  const asked: string[] = [];

  const rec = (tenant: string, id: string, v: string) => ({
    id,
    vector: Float32Array.of(1, id.length, 0),
    payload: {
      tenant,
      source: "s",
      documentId: "d",
      title: "",
      text: "",
      index: 0,
      metadata: {},
      revision: 1,
      modelVersion: v,
    },
  });
  const drop = (tenant: string, modelVersion: string) =>
    dropIndexVersion(deps, create(DropIndexVersionRequestSchema, { tenant, modelVersion }));
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tailor-drop-"));
    store = new EmbeddedVectorStore({ dir: join(dir, "vectors") });
    await store.open();
    state = new IndexState(dir);
    await state.open();
    state.defaultVersion = BASE;
    for (const t of ["acme", "globex"]) {
      await store.upsert(t, BASE, [rec(t, "c1", BASE), rec(t, "c22", BASE)]);
      await store.upsert(t, ADAPTED, [rec(t, "c1", ADAPTED), rec(t, "c22", ADAPTED)]);
      await state.putIndexVersion(t, ADAPTED, { status: "live", after: "", stale: false });
    }
    aliases = {};
    asked.length = 0;
    const registry = createClient(
      RegistryService,
      createRouterTransport((router) =>
        router.service(RegistryService, {
          resolveAlias(req) {
            asked.push(`${req.tenant}/${req.model}/${req.alias}`);
            const a = aliases[`${req.tenant}/${req.alias}`] ?? Code.NotFound;
            if (typeof a !== "string") throw new ConnectError("no", a);
            return create(ResolveAliasResponseSchema, {
              version: { tenant: req.tenant, version: "retrieval@v2", spec: { embedder: a } },
            });
          },
        }),
      ),
    );
    // Never called: no build runs in these tests.
    const ingestion = createClient(
      IngestionService,
      createRouterTransport(() => {}),
    );
    const builder = new IndexBuilder(
      store,
      state,
      new ChunkCatalog(),
      ingestion,
      "http://127.0.0.1:1",
      { ingestionUrl: "", pageSize: 10, embedBatch: 10 },
      logger,
    );
    deps = { store, state, builder, registry, registryTimeoutMs: 1000, logger };
  });
  afterEach(async () => {
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("drops one tenant's vectors of that version only, after asking about prod and canary", async () => {
    const r = await drop("acme", ADAPTED);
    expect(r.vectorsDropped).toBe(2n);
    expect(asked).toEqual(["acme/retrieval/prod", "acme/retrieval/canary"]);
    expect(await store.count("acme", ADAPTED)).toBe(0);
    expect(await store.count("acme", BASE)).toBe(2);
    expect(await store.count("globex", ADAPTED)).toBe(2);
    expect(state.indexVersion("acme", ADAPTED)).toBeUndefined();
    expect(state.indexVersion("globex", ADAPTED)).toBeDefined();
    expect((await drop("acme", ADAPTED)).vectorsDropped).toBe(0n);
  });

  it("refuses the served and default versions", async () => {
    await state.setServedVersion("acme", ADAPTED);
    for (const v of [ADAPTED, BASE]) {
      const err = await failure(drop("acme", v));
      expect(err?.code).toBe(Code.FailedPrecondition);
      expect(err?.rawMessage).toContain(v);
    }
    expect(await store.count("acme", ADAPTED)).toBe(2);
    expect(asked).toEqual([]);
  });

  it.each(["prod", "canary"])("refuses while alias %s searches the version", async (alias) => {
    aliases[`acme/${alias}`] = ADAPTED;
    aliases[`acme/${alias === "prod" ? "canary" : "prod"}`] = BASE;
    const err = await failure(drop("acme", ADAPTED));
    expect(err?.code).toBe(Code.FailedPrecondition);
    expect(err?.rawMessage).toContain(`alias ${alias}`);
    expect(err?.rawMessage).toContain("retrieval@v2");
    expect(await store.count("acme", ADAPTED)).toBe(2);
    expect(state.indexVersion("acme", ADAPTED)).toBeDefined();
  });

  it("drops nothing when the registry cannot answer", async () => {
    aliases["acme/canary"] = Code.Unavailable;
    const err = await failure(drop("acme", ADAPTED));
    expect(err?.code).toBe(Code.Unavailable);
    expect(err?.rawMessage).toContain("nothing was dropped");
    expect(await store.count("acme", ADAPTED)).toBe(2);
    expect(state.indexVersion("acme", ADAPTED)).toBeDefined();
  });

  it.each([
    ["", ADAPTED, "tenant"],
    ["acme corp", ADAPTED, "tenant"],
    ["acme", "", "model_version"],
    ["acme", "adapter", "model_version"],
    ["acme", "adapter@", "model_version"],
    ["acme", "a/b@1", "model_version"],
    ["acme", `a@${"1".repeat(600)}`, "model_version"],
  ])("refuses tenant %j, model_version %j: INVALID_ARGUMENT naming %s", async (t, v, field) => {
    const err = await failure(drop(t, v));
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage.startsWith(`${field}:`)).toBe(true);
  });
});
