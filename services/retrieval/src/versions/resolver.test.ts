import { create } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Bus, ModelEventFollower } from "@tailor/bus";
import { RegistryService, RetrievalSpecSchema } from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import {
  freePort,
  rpcError,
  testNatsUrl,
  uniquePrefix,
  waitFor,
  withTestBusPrefix,
} from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HybridConfig } from "../config.js";
import { RegistryDouble } from "../test-support/registry-double.js";
import { type ResolveRequest, routingShare, VersionResolver } from "./resolver.js";
import { defaultSpec } from "./spec.js";

const logger = createLogger("resolver-test", "silent");
const hybrid: HybridConfig = {
  fusion: "linear",
  denseWeight: 0.2,
  candidates: 100,
  rm3: { docs: 10, terms: 10, weight: 0.5 },
};
const spec = (denseWeight: number) =>
  create(RetrievalSpecSchema, {
    embedder: "fake@1",
    bm25K1: 1.2,
    bm25B: 0.75,
    denseWeight,
    candidates: 50,
  });
const at = (r: Partial<ResolveRequest> & { tenant: string }): ResolveRequest => ({
  version: "",
  alias: "",
  routingKey: "",
  ...r,
});

describe("VersionResolver against a registry and the MODEL stream", () => {
  const prefix = uniquePrefix("resolver");
  let cleanup: () => Promise<void>;
  let bus: Bus;
  let registry: RegistryDouble;
  let resolver: VersionResolver;
  let follower: ModelEventFollower;
  let draw = 0.5;
  const resolverFor = (url: string) =>
    new VersionResolver(createClient(RegistryService, createGrpcTransport({ baseUrl: url })), {
      specCacheSize: 100,
      aliasCacheSize: 100,
      timeoutMs: 2000,
      baseSpec: (t) => (t === "unserved" ? undefined : defaultSpec(hybrid, "fake@1")),
      fallback: () => defaultSpec(hybrid),
      hasData: (t) => t !== "empty",
      logger,
      random: () => draw,
    });

  beforeAll(async () => {
    ({ cleanup } = await withTestBusPrefix(prefix));
    bus = await Bus.connect({ url: testNatsUrl(), name: "test-resolver", prefix });
    registry = new RegistryDouble(bus);
    await registry.listen();
    resolver = resolverFor(registry.url);
    follower = new ModelEventFollower(bus, resolver, logger, "alias");
    await follower.start();
  });

  afterAll(async () => {
    await follower?.stop();
    await registry?.close();
    await bus?.close();
    await cleanup?.();
  });

  it("makes the base version from the service's defaults for a tenant without a model, and caches it", async () => {
    const r = await resolver.resolve(at({ tenant: "acme" }));
    expect(r.version).toMatch(/^retrieval@v\d+$/);
    expect(r.warnings).toEqual([]);
    expect(r.spec).toMatchObject({
      embedder: "fake@1",
      bm25: { k1: 0.9, b: 0.4 },
      rm3: { docs: 10, terms: 10, weight: 0.5 },
      denseWeight: 0.2,
      candidates: 100,
    });
    expect(registry.calls.ensureBase).toBe(1);
    const calls = { ...registry.calls };
    expect((await resolver.resolve(at({ tenant: "acme" }))).version).toBe(r.version);
    expect((await resolver.resolve(at({ tenant: "acme", version: r.version }))).spec).toEqual(
      r.spec,
    );
    // prod, "no canary" and the spec all came from the cache.
    expect(registry.calls).toEqual(calls);
  });

  it("follows promotion and rollback of prod without a restart", async () => {
    const v1 = (await resolver.resolve(at({ tenant: "acme" }))).version;
    const v2 = registry.register("acme", spec(0.35));
    await registry.promote("acme", v2);
    const moved = await waitFor(
      async () => (await resolver.resolve(at({ tenant: "acme" }))).version === v2,
      { what: "prod at the promoted version", timeoutMs: 10_000, intervalMs: 20 },
    );
    expect(moved).toBe(true);
    expect((await resolver.resolve(at({ tenant: "acme" }))).spec.denseWeight).toBe(0.35);
    await registry.rollback("acme");
    await waitFor(async () => (await resolver.resolve(at({ tenant: "acme" }))).version === v1, {
      what: "prod back at the base version",
      timeoutMs: 10_000,
      intervalMs: 20,
    });
  });

  it("routes the canary's share of prod requests to it, sticky by routing key", async () => {
    const prod = (await resolver.resolve(at({ tenant: "acme" }))).version;
    const canary = registry.register("acme", spec(0.5));
    await registry.promote("acme", canary, "canary", 0.3);
    await waitFor(
      async () => (await resolver.resolve(at({ tenant: "acme", alias: "canary" }))).version,
      { what: "the canary alias" },
    );
    // The event set the cache: prod requests see the canary without asking the registry.
    await waitFor(
      async () =>
        (await resolver.resolve(at({ tenant: "acme", routingKey: "k-0" }))).version ===
        (routingShare("acme", "k-0") < 0.3 ? canary : prod),
      { what: "routing to the canary", timeoutMs: 10_000, intervalMs: 20 },
    );
    const before = { ...registry.calls };
    let toCanary = 0;
    for (let i = 0; i < 1000; i++) {
      const key = `user-${i}`;
      const first = (await resolver.resolve(at({ tenant: "acme", routingKey: key }))).version;
      expect([prod, canary]).toContain(first);
      if (first === canary) toCanary++;
      if (i % 50 === 0) {
        for (let j = 0; j < 3; j++)
          expect((await resolver.resolve(at({ tenant: "acme", routingKey: key }))).version).toBe(
            first,
          );
        // An explicit prod alias routes the same way.
        expect(
          (await resolver.resolve(at({ tenant: "acme", alias: "prod", routingKey: key }))).version,
        ).toBe(first);
      }
    }
    expect(toCanary / 1000).toBeGreaterThan(0.25);
    expect(toCanary / 1000).toBeLessThan(0.35);
    expect(registry.calls.resolveAlias).toBe(before.resolveAlias);
    // No routing key: a random draw against the weight.
    draw = 0.29;
    expect((await resolver.resolve(at({ tenant: "acme" }))).version).toBe(canary);
    draw = 0.31;
    expect((await resolver.resolve(at({ tenant: "acme" }))).version).toBe(prod);
    // The canary alias named explicitly always answers the canary.
    expect((await resolver.resolve(at({ tenant: "acme", alias: "canary" }))).version).toBe(canary);
  });

  it("forgets a canary that became prod, so a later rollback does not route to it", async () => {
    const base = (await resolver.resolve(at({ tenant: "initech" }))).version;
    const next = registry.register("initech", spec(0.4));
    await registry.promote("initech", next, "canary", 1);
    await waitFor(
      async () => (await resolver.resolve(at({ tenant: "initech" }))).version === next,
      {
        what: "the canary taking every request",
        timeoutMs: 10_000,
        intervalMs: 20,
      },
    );
    await registry.promote("initech", next);
    await registry.rollback("initech");
    await waitFor(
      async () => (await resolver.resolve(at({ tenant: "initech" }))).version === base,
      {
        what: "prod rolled back, no canary left",
        timeoutMs: 10_000,
        intervalMs: 20,
      },
    );
    for (let i = 0; i < 20; i++)
      expect((await resolver.resolve(at({ tenant: "initech", routingKey: `k${i}` }))).version).toBe(
        base,
      );
  });

  it("serves a rejected version when it is named, never through an alias", async () => {
    const canary = (await resolver.resolve(at({ tenant: "acme", alias: "canary" }))).version;
    await registry.reject("acme", canary);
    const err = await waitFor(
      () => rpcError(resolver.resolve(at({ tenant: "acme", alias: "canary" }))),
      { what: "the canary refused", timeoutMs: 10_000, intervalMs: 20 },
    );
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toMatch(/^alias canary: .*rejected/);
    draw = 0;
    expect((await resolver.resolve(at({ tenant: "acme" }))).version).not.toBe(canary);
    expect((await resolver.resolve(at({ tenant: "acme", version: canary }))).version).toBe(canary);
  });

  it("keeps tenants apart and names what it cannot find", async () => {
    const acmeVersion = (await resolver.resolve(at({ tenant: "acme" }))).version;
    const cross = await rpcError(resolver.resolve(at({ tenant: "globex", version: acmeVersion })));
    expect(cross?.code).toBe(Code.NotFound);
    expect(cross?.rawMessage).toContain(`version ${acmeVersion}`);
    const noAlias = await rpcError(resolver.resolve(at({ tenant: "acme", alias: "staging" })));
    expect(noAlias?.code).toBe(Code.NotFound);
    expect(noAlias?.rawMessage).toMatch(/^alias staging: /);
    // A tenant without data has no prod to name; one with data gets its base version at once.
    const noProd = await rpcError(resolver.resolve(at({ tenant: "empty", alias: "prod" })));
    expect(noProd?.code).toBe(Code.NotFound);
    const globexProd = await resolver.resolve(at({ tenant: "globex", alias: "prod" }));
    expect(globexProd.version).toMatch(/^retrieval@v\d+$/);
    const unknown = await rpcError(
      resolver.resolve(at({ tenant: "acme", version: "retrieval@v999" })),
    );
    expect(unknown?.rawMessage).toMatch(/^version retrieval@v999: /);
  });

  it("makes no base version for a tenant with nothing indexed", async () => {
    const n = registry.calls.ensureBase;
    const r = await resolver.resolve(at({ tenant: "empty" }));
    expect(r).toEqual({ version: "", spec: defaultSpec(hybrid), warnings: [] });
    expect(registry.calls.ensureBase).toBe(n);
  });

  it("refuses a version whose spec it cannot run, naming the field", async () => {
    const bad = registry.register("acme", spec(2));
    const err = await rpcError(resolver.resolve(at({ tenant: "acme", version: bad })));
    expect(err?.code).toBe(Code.FailedPrecondition);
    expect(err?.rawMessage).toContain("dense_weight");
  });

  it("caches no alias while it cannot follow the stream", async () => {
    const blind = resolverFor(registry.url);
    await blind.resolve(at({ tenant: "acme" }));
    const n = registry.calls.resolveAlias;
    await blind.resolve(at({ tenant: "acme" }));
    expect(registry.calls.resolveAlias).toBeGreaterThan(n);
  });

  it("without a registry: default searches use the defaults with a warning, named ones are UNAVAILABLE", async () => {
    const gone = resolverFor(`http://127.0.0.1:${await freePort()}`);
    const r = await gone.resolve(at({ tenant: "acme" }));
    expect(r.version).toBe("");
    expect(r.spec).toEqual(defaultSpec(hybrid));
    expect(r.warnings.join(" ")).toMatch(/registry/);
    for (const req of [{ version: "retrieval@v1" }, { alias: "canary" }, { alias: "prod" }]) {
      const err = await rpcError(gone.resolve(at({ tenant: "acme", ...req })));
      expect(err?.code).toBe(Code.Unavailable);
      expect(err?.rawMessage).toMatch(/registry is unavailable/);
    }
    // A tenant without a served index version gets no base version, and says why.
    const unserved = await resolverFor(registry.url).resolve(at({ tenant: "unserved" }));
    expect(unserved.version).toBe("");
    expect(unserved.warnings.join(" ")).toMatch(/no index version is served/);
  });

  it("keeps answering from its cache when the registry goes away", async () => {
    const prod = (await resolver.resolve(at({ tenant: "acme" }))).version;
    await registry.close();
    expect((await resolver.resolve(at({ tenant: "acme", routingKey: "x" }))).version).toBe(prod);
    expect((await resolver.resolve(at({ tenant: "acme", version: prod }))).version).toBe(prod);
  });
});
