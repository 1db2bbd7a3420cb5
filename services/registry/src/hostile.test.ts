import { Code } from "@connectrpc/connect";
import { rpcError } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "./test-service.js";

const MB = "x".repeat(1024 * 1024);
/** Strings no field may hold, with what the refusal should say. */
const HOSTILE: [string, string, RegExp][] = [
  ["NUL", "a\u0000b", /NUL|must match|must be/],
  ["control", "a\u0007b", /control|must match|must be/],
  ["lone surrogate", "a\ud800b", /surrogate|must match|must be/],
  ["1 MB", MB, /bytes|must match|must be/],
];

const spec = {
  embedder: "glove@v1",
  bm25K1: 1.2,
  bm25B: 0.75,
  denseWeight: 0.2,
  candidates: 100,
};

describe("registry: hostile requests are refused with INVALID_ARGUMENT naming the field", () => {
  let r: TestRegistry;
  beforeAll(async () => {
    r = await startTestRegistry("reghostile");
    await r.client.ensureBase({ tenant: "acme", model: "m", spec });
  }, 60_000);
  afterAll(async () => {
    await r?.close();
  });

  const refused = async (call: Promise<unknown>, field: string, reason: RegExp) => {
    const err = await rpcError(call);
    expect(err?.code, `${field}: ${err?.rawMessage}`).toBe(Code.InvalidArgument);
    const message = err?.rawMessage ?? "";
    // Invalid UTF-16 never reaches the handler: the server's JSON decoder refuses it first,
    // naming the field by its protobuf path (…RetrievalSpec.embedder).
    const leaf = field
      .split(".")
      .at(-1)
      ?.replace(/\[\d+\]$/, "");
    const named =
      message.startsWith(`${field}: `) ||
      (/invalid UTF-?8/i.test(message) && message.includes(`.${leaf} `));
    expect(named, message).toBe(true);
    if (message.startsWith(`${field}: `)) expect(message).toMatch(reason);
    // The message never echoes the value.
    expect(err?.rawMessage.length).toBeLessThan(300);
  };

  it.each(HOSTILE)("string fields holding %s", async (_, bad, reason) => {
    const c = r.client;
    await refused(c.getVersion({ tenant: bad, version: "m@v1" }), "tenant", reason);
    await refused(c.getVersion({ tenant: "acme", version: bad }), "version", reason);
    await refused(c.registerVersion({ tenant: "acme", model: bad, spec }), "model", reason);
    await refused(
      c.registerVersion({ tenant: "acme", model: "m", spec: { ...spec, embedder: bad } }),
      "spec.embedder",
      reason,
    );
    await refused(
      c.registerVersion({
        tenant: "acme",
        model: "m",
        spec: {
          ...spec,
          reranker: { features: [bad], weights: [1], mean: [0], std: [1], depth: 10 },
        },
      }),
      "spec.reranker.features[0]",
      reason,
    );
    await refused(
      c.registerVersion({ tenant: "acme", model: "m", spec, lineage: { artifacts: ["ok", bad] } }),
      "lineage.artifacts[1]",
      reason,
    );
    await refused(
      c.registerVersion({ tenant: "acme", model: "m", spec, lineage: { trainingJob: bad } }),
      "lineage.training_job",
      reason,
    );
    await refused(c.resolveAlias({ tenant: "acme", model: "m", alias: bad }), "alias", reason);
    await refused(
      c.attachReport({ tenant: "acme", version: "m@v1", report: bad }),
      "report",
      reason,
    );
    if (!bad.includes("\u0007"))
      await refused(c.promote({ tenant: "acme", version: "m@v1", reason: bad }), "reason", reason);
    await refused(c.rollback({ tenant: "acme", model: bad }), "model", reason);
    await refused(c.reject({ tenant: "acme", version: "m@v1", report: bad }), "report", reason);
    await refused(c.listVersions({ tenant: "acme", model: bad }), "model", reason);
    await refused(c.listRegisteredModels({ tenant: bad }), "tenant", reason);
  });

  it("refuses malformed names and out-of-range or non-finite spec numbers", async () => {
    const c = r.client;
    const reg = (s: Record<string, unknown>) =>
      c.registerVersion({ tenant: "acme", model: "m", spec: { ...spec, ...s } });
    await refused(c.getVersion({ tenant: "", version: "m@v1" }), "tenant", /required/);
    await refused(c.getVersion({ tenant: "a.b", version: "m@v1" }), "tenant", /must match/);
    await refused(c.getVersion({ tenant: "acme", version: "m@v0" }), "version", /<model>@v<n>/);
    await refused(c.getVersion({ tenant: "acme", version: "M@v1" }), "version", /<model>@v<n>/);
    await refused(c.registerVersion({ tenant: "acme", model: "Model", spec }), "model", /a-z0-9/);
    await refused(c.registerVersion({ tenant: "acme", model: "m" }), "spec", /required/);
    await refused(reg({ embedder: "" }), "spec.embedder", /required/);
    await refused(reg({ embedder: "glove" }), "spec.embedder", /name@version/);
    await refused(reg({ bm25K1: Number.NaN }), "spec.bm25_k1", /finite/);
    await refused(reg({ bm25K1: 11 }), "spec.bm25_k1", /\[0, 10\]/);
    await refused(reg({ bm25B: Number.POSITIVE_INFINITY }), "spec.bm25_b", /finite/);
    await refused(reg({ rm3Weight: 1.5 }), "spec.rm3_weight", /\[0, 1\]/);
    await refused(reg({ denseWeight: -0.1 }), "spec.dense_weight", /\[0, 1\]/);
    await refused(reg({ candidates: 0 }), "spec.candidates", /\[1, 5000\]/);
    await refused(reg({ candidates: 5001 }), "spec.candidates", /\[1, 5000\]/);
    const rr = {
      features: ["bm25", "dense"],
      weights: [1, 2],
      mean: [0, 0],
      std: [1, 1],
      depth: 10,
    };
    await refused(
      reg({ reranker: { ...rr, weights: [1] } }),
      "spec.reranker.weights",
      /1 values for 2/,
    );
    await refused(
      reg({ reranker: { ...rr, mean: [0, Number.NaN] } }),
      "spec.reranker.mean[1]",
      /finite/,
    );
    await refused(reg({ reranker: { ...rr, std: [1, 0] } }), "spec.reranker.std[1]", /above 0/);
    await refused(
      reg({ reranker: { ...rr, features: ["bm25", "bm25"] } }),
      "spec.reranker.features[1]",
      /twice/,
    );
    const many = Array.from({ length: 257 }, (_, i) => `f${i}`);
    const zeros = many.map(() => 0);
    await refused(
      reg({ reranker: { features: many, weights: zeros, mean: zeros, std: zeros, depth: 1 } }),
      "spec.reranker.features",
      /over 256/,
    );
    await refused(
      c.registerVersion({ tenant: "acme", model: "m", spec, lineage: { kind: "magic" } }),
      "lineage.kind",
      /one of/,
    );
    await refused(c.promote({ tenant: "acme", version: "m@v1", alias: "Canary" }), "alias", /prod/);
    await refused(
      c.promote({ tenant: "acme", version: "m@v1", alias: "canary", weight: 1.5 }),
      "weight",
      /\(0, 1\]/,
    );
    await refused(
      c.promote({ tenant: "acme", version: "m@v1", alias: "canary", weight: Number.NaN }),
      "weight",
      /finite/,
    );
    // Nothing of the refused requests was stored.
    const list = await c.listVersions({ tenant: "acme", model: "m" });
    expect(list.versions.map((v) => v.version)).toEqual(["m@v1"]);
  });
});
