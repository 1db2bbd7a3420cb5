import { Code } from "@connectrpc/connect";
import { VersionState } from "@tailor/proto";
import { rpcError } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  modelEvents,
  outboxDrained,
  startTestRegistry,
  type TestRegistry,
} from "./test-service.js";

const spec = (embedder = "glove@v1", over: Record<string, unknown> = {}) => ({
  embedder,
  bm25K1: 1.2,
  bm25B: 0.75,
  denseWeight: 0.2,
  candidates: 100,
  ...over,
});

describe("registry: versions, aliases, lineage (real PostgreSQL and NATS)", () => {
  let r: TestRegistry;
  beforeAll(async () => {
    r = await startTestRegistry("registry");
  }, 60_000);
  afterAll(async () => {
    await r?.close();
  });

  it("numbers concurrent registrations without gaps or duplicates; v1 becomes prod", async () => {
    const tenant = "acme";
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        r.client.registerVersion({
          tenant,
          model: "retrieval",
          spec: spec(),
          lineage: { trainingJob: `job-${i}`, kind: "reranker", seed: BigInt(i) },
        }),
      ),
    );
    const names = results.map((x) => x.version?.version).sort();
    expect(new Set(names).size).toBe(12);
    const list = await r.client.listVersions({ tenant, model: "retrieval" });
    expect(list.versions.map((v) => v.version)).toEqual(
      Array.from({ length: 12 }, (_, i) => `retrieval@v${12 - i}`),
    );
    expect(list.aliases.map((a) => [a.name, a.version, a.weight])).toEqual([
      ["prod", "retrieval@v1", 1],
    ]);
    const v1 = list.versions.at(-1)!;
    expect(v1.state).toBe(VersionState.PROMOTED);
    expect(v1.aliases).toEqual(["prod"]);
    expect(list.versions[0]?.state).toBe(VersionState.CANDIDATE);
    // The spec and lineage come back as they were given.
    const got = await r.client.getVersion({ tenant, version: "retrieval@v3" });
    expect(got.version?.spec?.bm25K1).toBe(1.2);
    expect(got.version?.spec?.embedder).toBe("glove@v1");
    expect(got.version?.lineage?.kind).toBe("reranker");
    expect(got.version?.tenant).toBe(tenant);
  });

  it("EnsureBase creates one v1 under a race and is idempotent after", async () => {
    const tenant = "race";
    const all = await Promise.all(
      Array.from({ length: 8 }, () =>
        r.client.ensureBase({ tenant, model: "retrieval", spec: spec("glove@v2") }),
      ),
    );
    expect(all.filter((x) => x.created)).toHaveLength(1);
    for (const x of all) expect(x.version?.version).toBe("retrieval@v1");
    const again = await r.client.ensureBase({ tenant, model: "retrieval", spec: spec("other@x") });
    expect(again.created).toBe(false);
    expect(again.version?.spec?.embedder).toBe("glove@v2");
    expect(again.version?.lineage?.kind).toBe("base");
    const models = await r.client.listRegisteredModels({ tenant });
    expect(models.models.map((m) => [m.model, m.versions, m.latestVersion])).toEqual([
      ["retrieval", 1, "retrieval@v1"],
    ]);
    const prod = await r.client.resolveAlias({ tenant, model: "retrieval", alias: "" });
    expect(prod.alias?.version).toBe("retrieval@v1");
  });

  it("promotes, clears a canary that becomes prod, rolls back twice and refuses a third", async () => {
    const tenant = "promo";
    const model = "ranker";
    await r.client.ensureBase({ tenant, model, spec: spec() });
    for (let i = 0; i < 3; i++)
      await r.client.registerVersion({
        tenant,
        model,
        spec: spec(),
        lineage: { parentVersion: `${model}@v1` },
      });

    expect(
      (await rpcError(r.client.promote({ tenant, version: `${model}@v2`, alias: "canary" })))?.code,
    ).toBe(Code.InvalidArgument);
    const canary = await r.client.promote({
      tenant,
      version: `${model}@v2`,
      alias: "canary",
      weight: 0.1,
      reason: "gate passed",
    });
    expect(canary.alias?.weight).toBeCloseTo(0.1);
    expect(canary.previousVersion).toBe("");
    const p2 = await r.client.promote({ tenant, version: `${model}@v2`, reason: "report-7" });
    expect(p2.previousVersion).toBe(`${model}@v1`);
    expect(await rpcError(r.client.resolveAlias({ tenant, model, alias: "canary" }))).toMatchObject(
      {
        code: Code.NotFound,
      },
    );
    await r.client.promote({ tenant, version: `${model}@v3`, alias: "prod" });
    await r.client.promote({ tenant, version: `${model}@v4` });

    const rb1 = await r.client.rollback({ tenant, model, reason: "regression" });
    expect([rb1.alias?.version, rb1.rolledBackVersion]).toEqual([`${model}@v3`, `${model}@v4`]);
    const rb2 = await r.client.rollback({ tenant, model, alias: "prod" });
    expect([rb2.alias?.version, rb2.rolledBackVersion]).toEqual([`${model}@v2`, `${model}@v3`]);
    const rb3 = await r.client.rollback({ tenant, model });
    expect(rb3.alias?.version).toBe(`${model}@v1`);
    const none = await rpcError(r.client.rollback({ tenant, model }));
    expect(none?.code).toBe(Code.FailedPrecondition);
    expect(none?.rawMessage).toMatch(/no earlier version to roll back to/);
    const noCanary = await rpcError(r.client.rollback({ tenant, model, alias: "canary" }));
    expect(noCanary?.code).toBe(Code.FailedPrecondition);

    await outboxDrained(r.svc);
    const promoted = await modelEvents(r.bus, tenant, "promoted");
    expect(promoted.map((e) => [e.alias, e.version, e.previousVersion])).toEqual([
      ["prod", `${model}@v1`, ""],
      ["canary", `${model}@v2`, ""],
      ["prod", `${model}@v2`, `${model}@v1`],
      ["prod", `${model}@v3`, `${model}@v2`],
      ["prod", `${model}@v4`, `${model}@v3`],
    ]);
    expect(promoted[2]?.reason).toBe("report-7");
    const rolled = await modelEvents(r.bus, tenant, "rolled_back");
    expect(rolled.map((e) => [e.version, e.rolledBackVersion, e.reason])).toEqual([
      [`${model}@v3`, `${model}@v4`, "regression"],
      [`${model}@v2`, `${model}@v3`, ""],
      [`${model}@v1`, `${model}@v2`, ""],
    ]);
  });

  it("rejects a candidate (never promotable after), refuses to reject a served one", async () => {
    const tenant = "rej";
    const model = "m";
    await r.client.ensureBase({ tenant, model, spec: spec() });
    await r.client.registerVersion({ tenant, model, spec: spec() });
    const served = await rpcError(r.client.reject({ tenant, version: `${model}@v1`, reason: "x" }));
    expect(served?.code).toBe(Code.FailedPrecondition);
    expect(served?.rawMessage).toMatch(/served by alias prod/);
    const rej = await r.client.reject({
      tenant,
      version: `${model}@v2`,
      reason: "ndcg@10 fell 4%",
      report: "rep-1",
    });
    expect(rej.version?.state).toBe(VersionState.REJECTED);
    expect(rej.version?.rejection).toBe("ndcg@10 fell 4%");
    expect(rej.version?.lineage?.reports).toEqual(["rep-1"]);
    const again = await rpcError(r.client.promote({ tenant, version: `${model}@v2` }));
    expect(again?.code).toBe(Code.FailedPrecondition);
    expect(again?.rawMessage).toMatch(/rejected/);
    await r.client.attachReport({ tenant, version: `${model}@v2`, report: "rep-2" });
    await r.client.attachReport({ tenant, version: `${model}@v2`, report: "rep-2" });
    const got = await r.client.getVersion({ tenant, version: `${model}@v2` });
    expect(got.version?.lineage?.reports).toEqual(["rep-1", "rep-2"]);
    expect((await rpcError(r.client.promote({ tenant, version: `${model}@v9` })))?.code).toBe(
      Code.NotFound,
    );
    await outboxDrained(r.svc);
    const events = await modelEvents(r.bus, tenant, "rejected");
    expect(events.map((e) => [e.version, e.reason, e.report])).toEqual([
      [`${model}@v2`, "ndcg@10 fell 4%", "rep-1"],
    ]);
  });

  it("rolls back past a version rejected since it was replaced", async () => {
    const tenant = "skip";
    const model = "m";
    await r.client.ensureBase({ tenant, model, spec: spec() });
    await r.client.registerVersion({ tenant, model, spec: spec() });
    await r.client.registerVersion({ tenant, model, spec: spec() });
    await r.client.promote({ tenant, version: `${model}@v2` });
    await r.client.promote({ tenant, version: `${model}@v3` });
    await r.client.reject({ tenant, version: `${model}@v2`, reason: "bad" });
    const rb = await r.client.rollback({ tenant, model });
    expect(rb.alias?.version).toBe(`${model}@v1`);
  });

  it("keeps tenants apart: B cannot see or change A's versions", async () => {
    await r.client.ensureBase({ tenant: "wall-a", model: "m", spec: spec() });
    await r.client.registerVersion({ tenant: "wall-a", model: "m", spec: spec() });
    const b = "wall-b";
    const calls = [
      () => r.client.getVersion({ tenant: b, version: "m@v1" }),
      () => r.client.resolveAlias({ tenant: b, model: "m" }),
      () => r.client.listVersions({ tenant: b, model: "m" }),
      () => r.client.promote({ tenant: b, version: "m@v2" }),
      () => r.client.rollback({ tenant: b, model: "m" }),
      () => r.client.reject({ tenant: b, version: "m@v2" }),
      () => r.client.attachReport({ tenant: b, version: "m@v2", report: "r" }),
    ];
    for (const c of calls) expect((await rpcError(c()))?.code).toBe(Code.NotFound);
    expect((await r.client.listRegisteredModels({ tenant: b })).models).toEqual([]);
    // B's own model of the same name is numbered apart from A's.
    const own = await r.client.registerVersion({ tenant: b, model: "m", spec: spec() });
    expect(own.version?.version).toBe("m@v1");
    const parent = await rpcError(
      r.client.registerVersion({
        tenant: b,
        model: "m",
        spec: spec(),
        lineage: { parentVersion: "m@v2" },
      }),
    );
    expect(parent?.code).toBe(Code.InvalidArgument);
    expect(parent?.rawMessage).toMatch(/^lineage\.parent_version: /);
    const a = await r.client.listVersions({ tenant: "wall-a", model: "m" });
    expect(a.versions.map((v) => [v.version, v.state])).toEqual([
      ["m@v2", VersionState.CANDIDATE],
      ["m@v1", VersionState.PROMOTED],
    ]);
  });
});
