import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { routingShare } from "@tailor/clients";
import {
  EnsureBaseResponseSchema,
  GetVersionResponseSchema,
  type ModelVersion,
  ModelVersionSchema,
  ResolveAliasResponseSchema,
  VersionState,
} from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { describe, expect, it } from "vitest";
import type { Generator } from "../types.js";
import { type RegistryApi, RegistryRoutes } from "./routes.js";

/** A registry of one tenant's versions and aliases, counting the calls made to it. */
function fakeRegistry() {
  const versions = new Map<string, ModelVersion>();
  const aliases = new Map<string, { version: string; weight: number }>();
  const calls: string[] = [];
  const add = (version: string, state = VersionState.PROMOTED) => {
    const model = version.slice(0, version.indexOf("@"));
    versions.set(
      version,
      create(ModelVersionSchema, {
        tenant: "acme",
        model,
        version,
        state,
        ...(model === "retrieval"
          ? { spec: { embedder: "glove@1", candidates: 10 } }
          : { generator: { kind: "extractive" } }),
      }),
    );
  };
  const api: RegistryApi = {
    resolveAlias: async (req) => {
      calls.push(`alias ${req.model}/${req.alias}`);
      const a = aliases.get(`${req.model}/${req.alias}`);
      if (!a) throw new ConnectError("alias not found", Code.NotFound);
      return create(ResolveAliasResponseSchema, {
        alias: { name: req.alias, version: a.version, weight: a.weight },
        version: versions.get(a.version),
      });
    },
    getVersion: async (req) => {
      calls.push(`version ${req.version}`);
      const v = versions.get(req.version ?? "");
      if (!v) throw new ConnectError("version not found", Code.NotFound);
      return create(GetVersionResponseSchema, { version: v });
    },
    ensureBase: async (req) => {
      calls.push(`base ${req.model}`);
      const created = !versions.has(`${req.model}@v1`);
      if (created) {
        add(`${req.model}@v1`);
        aliases.set(`${req.model}/prod`, { version: `${req.model}@v1`, weight: 1 });
      }
      return create(EnsureBaseResponseSchema, {
        version: versions.get(`${req.model}@v1`),
        created,
      });
    },
  } as RegistryApi;
  return { api, versions, aliases, calls, add };
}

const makeGenerator = (spec: Generator["spec"], version: string): Generator => ({
  version,
  model: spec.kind,
  spec,
  async *generate() {
    yield* [];
    return { promptTokens: 0, completionTokens: 0, finishReason: "stop" };
  },
});

const routes = (api: RegistryApi, random = () => 0.99) =>
  new RegistryRoutes(api, { makeGenerator, logger: createLogger("test"), random });
const prodRequest = (routingKey = "") => ({ alias: "", version: "", routingKey });

describe("RegistryRoutes", () => {
  it("gives a tenant without a generator model its extractive base; retrieval decides its own base", async () => {
    const r = fakeRegistry();
    const route = await routes(r.api).resolve("acme", prodRequest());
    expect(route).toMatchObject({ alias: "prod", retrieval: "", embedder: "" });
    expect(route.generator).toMatchObject({ version: "generator@v1", model: "extractive" });
    expect(r.calls).toContain("base generator");
  });

  it("splits prod traffic with the canaries of both models by one sticky rule", async () => {
    const r = fakeRegistry();
    for (const v of ["retrieval@v1", "retrieval@v2", "generator@v1", "generator@v2"]) r.add(v);
    r.aliases.set("retrieval/prod", { version: "retrieval@v1", weight: 1 });
    r.aliases.set("generator/prod", { version: "generator@v1", weight: 1 });
    r.aliases.set("retrieval/canary", { version: "retrieval@v2", weight: 0.3 });
    r.aliases.set("generator/canary", { version: "generator@v2", weight: 0.3 });
    const rr = routes(r.api);
    let canaries = 0;
    for (let i = 0; i < 200; i++) {
      const key = `user-${i}`;
      const route = await rr.resolve("acme", prodRequest(key));
      const canary = routingShare("acme", key) < 0.3;
      canaries += canary ? 1 : 0;
      expect(route.retrieval).toBe(canary ? "retrieval@v2" : "retrieval@v1");
      expect(route.generator.version).toBe(canary ? "generator@v2" : "generator@v1");
      expect(route.alias).toBe(canary ? "canary" : "prod");
      expect(route.embedder).toBe("glove@1");
    }
    expect(canaries).toBeGreaterThan(30);
    expect(canaries).toBeLessThan(90);
    // The canary alias named: both canaries.
    const c = await rr.resolve("acme", { alias: "canary", version: "", routingKey: "" });
    expect([c.alias, c.retrieval, c.generator.version]).toEqual([
      "canary",
      "retrieval@v2",
      "generator@v2",
    ]);
    const list = await rr.list("acme");
    expect(list.map((x) => [x.alias, x.retrieval, x.generator, x.weight])).toEqual([
      ["prod", "retrieval@v1", "generator@v1", 1],
      ["canary", "retrieval@v2", "generator@v2", 0.3],
    ]);
  });

  it("refuses unknown aliases and versions by name, and never serves a rejected canary", async () => {
    const r = fakeRegistry();
    r.add("retrieval@v1");
    r.add("retrieval@v2", VersionState.REJECTED);
    r.aliases.set("retrieval/prod", { version: "retrieval@v1", weight: 1 });
    r.aliases.set("retrieval/canary", { version: "retrieval@v2", weight: 1 });
    const rr = routes(r.api, () => 0);
    const err = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    const blue = await err(rr.resolve("acme", { alias: "blue", version: "", routingKey: "" }));
    expect([blue?.code, blue?.rawMessage]).toEqual([
      Code.NotFound,
      expect.stringContaining("blue"),
    ]);
    const v9 = await err(
      rr.resolve("acme", { alias: "", version: "retrieval@v9", routingKey: "" }),
    );
    expect([v9?.code, v9?.rawMessage]).toEqual([
      Code.NotFound,
      expect.stringContaining("retrieval@v9"),
    ]);
    expect((await rr.resolve("acme", prodRequest())).retrieval).toBe("retrieval@v1");
    const named = await err(rr.resolve("acme", { alias: "canary", version: "", routingKey: "" }));
    expect(named?.code).toBe(Code.FailedPrecondition);
    // An exact version is served whatever its state, with the generator at prod.
    const exact = await rr.resolve("acme", { alias: "", version: "retrieval@v2", routingKey: "" });
    expect([exact.alias, exact.retrieval, exact.generator.version]).toEqual([
      "",
      "retrieval@v2",
      "generator@v1",
    ]);
  });

  it("keeps alias targets only while following, and forgets a tenant's on its model events", async () => {
    const r = fakeRegistry();
    r.add("retrieval@v1");
    r.add("generator@v1");
    r.aliases.set("retrieval/prod", { version: "retrieval@v1", weight: 1 });
    r.aliases.set("generator/prod", { version: "generator@v1", weight: 1 });
    const rr = routes(r.api);
    await rr.resolve("acme", prodRequest());
    const asked = () => r.calls.filter((c) => c.startsWith("alias")).length;
    const before = asked();
    await rr.resolve("acme", prodRequest());
    // Not following: every request asks the registry.
    expect(asked()).toBeGreaterThan(before);
    rr.setFollowing(true);
    await rr.resolve("acme", prodRequest());
    const cached = asked();
    await rr.resolve("acme", prodRequest());
    expect(asked()).toBe(cached);
    r.add("generator@v2");
    r.aliases.set("generator/prod", { version: "generator@v2", weight: 1 });
    expect((await rr.resolve("acme", prodRequest())).generator.version).toBe("generator@v1");
    rr.forget("acme");
    expect((await rr.resolve("acme", prodRequest())).generator.version).toBe("generator@v2");
  });
});
