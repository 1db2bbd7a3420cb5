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

const retrievalSpec = { embedder: "glove@v1", bm25K1: 1.2, bm25B: 0.75, candidates: 100 };
const onnx = { kind: "onnx", model: "tiny-llama@1", maxTokens: 128, temperature: 0.2 };
const openai = {
  kind: "openai",
  model: "llama-3.1-8b-instruct",
  baseUrl: "http://vllm:8000/v1",
  apiKeyEnv: "VLLM_API_KEY",
  promptTemplate: "Context:\n{{context}}\n\nQuestion: {{question}}\nAnswer with [n]:",
};

describe("registry: generator and guard versions (real PostgreSQL and NATS)", () => {
  let r: TestRegistry;
  beforeAll(async () => {
    r = await startTestRegistry("reggen");
  }, 60_000);
  afterAll(async () => {
    await r?.close();
  });

  it("stores a GeneratorSpec per version, returns it everywhere, promotes and rolls back", async () => {
    const tenant = "gen";
    const model = "generator";
    const base = await r.client.ensureBase({ tenant, model, generator: { maxSentences: 4 } });
    expect(base.created).toBe(true);
    // An empty kind is stored as the explicit default.
    expect(base.version?.generator).toMatchObject({ kind: "extractive", maxSentences: 4 });
    expect(base.version?.spec).toBeUndefined();
    expect(base.version?.aliases).toEqual(["prod"]);
    const again = await r.client.ensureBase({ tenant, model, generator: onnx });
    expect([again.created, again.version?.generator?.kind]).toEqual([false, "extractive"]);

    const v2 = await r.client.registerVersion({ tenant, model, generator: onnx });
    expect(v2.version?.generator).toMatchObject(onnx);
    const v3 = await r.client.registerVersion({
      tenant,
      model,
      generator: openai,
      lineage: { parentVersion: "generator@v2" },
    });
    expect(v3.version?.version).toBe("generator@v3");

    const got = await r.client.getVersion({ tenant, version: "generator@v3" });
    expect(got.version?.generator).toMatchObject(openai);
    expect(got.version?.generator?.temperature).toBe(0);
    expect(got.version?.lineage?.parentVersion).toBe("generator@v2");
    expect(got.version?.spec).toBeUndefined();

    await r.client.promote({ tenant, version: "generator@v2", alias: "canary", weight: 0.25 });
    const canary = await r.client.resolveAlias({ tenant, model, alias: "canary" });
    expect(canary.version?.generator?.model).toBe("tiny-llama@1");
    await r.client.promote({ tenant, version: "generator@v3", reason: "upstream ready" });
    const prod = await r.client.resolveAlias({ tenant, model, alias: "prod" });
    expect(prod.version?.generator?.baseUrl).toBe("http://vllm:8000/v1");

    const list = await r.client.listVersions({ tenant, model });
    expect(list.versions.map((v) => [v.version, v.generator?.kind, v.state])).toEqual([
      ["generator@v3", "openai", VersionState.PROMOTED],
      ["generator@v2", "onnx", VersionState.PROMOTED],
      ["generator@v1", "extractive", VersionState.PROMOTED],
    ]);

    const rb = await r.client.rollback({ tenant, model, reason: "upstream down" });
    expect([rb.alias?.version, rb.rolledBackVersion]).toEqual(["generator@v1", "generator@v3"]);
    expect((await r.client.resolveAlias({ tenant, model })).version?.generator?.kind).toBe(
      "extractive",
    );
    await outboxDrained(r.svc);
    const promoted = await modelEvents(r.bus, tenant, "promoted");
    expect(promoted.map((e) => [e.model, e.alias, e.version])).toEqual([
      [model, "prod", "generator@v1"],
      [model, "canary", "generator@v2"],
      [model, "prod", "generator@v3"],
    ]);
  });

  it("registers guard versions from training with their artifact, no spec, and no base", async () => {
    const tenant = "grd";
    const lineage = {
      kind: "guard",
      trainingJob: "job-7",
      datasetHash: "ab12",
      artifacts: ["guard-injection@job-7"],
    };
    const v1 = await r.client.registerVersion({ tenant, model: "guard", lineage });
    expect(v1.version).toMatchObject({ version: "guard@v1", aliases: ["prod"] });
    expect(v1.version?.spec).toBeUndefined();
    expect(v1.version?.generator).toBeUndefined();
    const v2 = await r.client.registerVersion({
      tenant,
      model: "guard",
      lineage: { ...lineage, artifacts: ["guard-injection@job-8"], parentVersion: "guard@v1" },
    });
    await r.client.promote({ tenant, version: v2.version!.version });
    const prod = await r.client.resolveAlias({ tenant, model: "guard" });
    expect(prod.version?.lineage?.artifacts).toEqual(["guard-injection@job-8"]);
    expect(prod.version?.lineage?.kind).toBe("guard");

    const noArtifact = await rpcError(
      r.client.registerVersion({ tenant, model: "guard", lineage: { kind: "guard" } }),
    );
    expect(noArtifact?.code).toBe(Code.InvalidArgument);
    expect(noArtifact?.rawMessage).toMatch(/^lineage\.artifacts: /);
    const withSpec = await rpcError(
      r.client.registerVersion({ tenant, model: "guard", spec: retrievalSpec, lineage }),
    );
    expect(withSpec?.rawMessage).toMatch(/^spec: must be unset for model guard/);
    const base = await rpcError(r.client.ensureBase({ tenant, model: "guard" }));
    expect(base?.code).toBe(Code.InvalidArgument);
    expect(base?.rawMessage).toMatch(/^model: guard has no base version/);
  });

  it("keeps other models on RetrievalSpec and refuses a GeneratorSpec there", async () => {
    const tenant = "mix";
    const v = await r.client.registerVersion({ tenant, model: "retrieval", spec: retrievalSpec });
    expect(v.version?.spec?.embedder).toBe("glove@v1");
    expect(v.version?.generator).toBeUndefined();
    const err = await rpcError(
      r.client.registerVersion({ tenant, model: "ranker", spec: retrievalSpec, generator: onnx }),
    );
    expect(err?.rawMessage).toMatch(/^generator: must be unset for model ranker/);
    const noSpec = await rpcError(r.client.registerVersion({ tenant, model: "ranker" }));
    expect(noSpec?.rawMessage).toBe("spec: is required");
    const both = await rpcError(
      r.client.registerVersion({
        tenant,
        model: "generator",
        spec: retrievalSpec,
        generator: onnx,
      }),
    );
    expect(both?.rawMessage).toMatch(/^spec: must be unset for model generator/);
    const none = await rpcError(r.client.ensureBase({ tenant, model: "generator" }));
    expect(none?.rawMessage).toBe("generator: is required");
  });

  const SECRET = "sk-live-Zx81Q0aa9";
  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ["unknown kind", { kind: "gpt" }, "generator.kind", /one of extractive, onnx, openai/],
    ["onnx without version", { kind: "onnx", model: "tiny-llama" }, "generator.model", /exact/],
    ["onnx with a base_url", { ...onnx, baseUrl: "http://x" }, "generator.base_url", /empty/],
    ["openai without url", { ...openai, baseUrl: "" }, "generator.base_url", /required/],
    ["openai ftp url", { ...openai, baseUrl: "ftp://h/v1" }, "generator.base_url", /http/],
    ["openai relative url", { ...openai, baseUrl: "/v1" }, "generator.base_url", /absolute/],
    [
      "key in the url",
      { ...openai, baseUrl: `http://u:${SECRET}@h/v1` },
      "generator.base_url",
      /credentials/,
    ],
    ["openai without model", { ...openai, model: "" }, "generator.model", /required/],
    ["a key as api_key_env", { ...openai, apiKeyEnv: SECRET }, "generator.api_key_env", /NAME/],
    ["lower-case env", { ...openai, apiKeyEnv: "vllm_key" }, "generator.api_key_env", /NAME/],
    [
      "template without {{question}}",
      { ...openai, promptTemplate: "{{context}} answer" },
      "generator.prompt_template",
      /\{\{question\}\}/,
    ],
    [
      "template of 17 KB",
      { ...openai, promptTemplate: `{{context}}{{question}}${"x".repeat(17_000)}` },
      "generator.prompt_template",
      /bytes/,
    ],
    [
      "template with NUL",
      { ...onnx, promptTemplate: "{{context}}\u0000{{question}}" },
      "generator.prompt_template",
      /NUL/,
    ],
    ["max_tokens huge", { ...onnx, maxTokens: 1e9 }, "generator.max_tokens", /\[0, 32768\]/],
    ["temperature NaN", { ...onnx, temperature: Number.NaN }, "generator.temperature", /finite/],
    ["temperature 3", { ...onnx, temperature: 3 }, "generator.temperature", /\[0, 2\]/],
    ["max_sentences 99", { maxSentences: 99 }, "generator.max_sentences", /\[0, 32\]/],
    ["extractive with model", { model: "x@1" }, "generator.model", /empty for kind extractive/],
  ];

  it.each(bad)("refuses %s naming the field, never echoing a secret", async (_, g, field, why) => {
    const err = await rpcError(
      r.client.registerVersion({ tenant: "bad", model: "generator", generator: g }),
    );
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage.startsWith(`${field}: `), err?.rawMessage).toBe(true);
    expect(err?.rawMessage).toMatch(why);
    expect(err?.rawMessage).not.toContain(SECRET);
    expect(err?.rawMessage.length).toBeLessThan(300);
  });

  it.each([
    ["NUL", "a\u0000b", /NUL/],
    ["control", "a\u0007b", /control/],
    ["1 MB", "x".repeat(1024 * 1024), /bytes/],
  ])("refuses %s in every string field of a GeneratorSpec", async (_, bad, why) => {
    const fields: [string, Record<string, unknown>][] = [
      ["generator.kind", { kind: bad }],
      ["generator.model", { ...openai, model: bad }],
      ["generator.base_url", { ...openai, baseUrl: bad }],
      ["generator.api_key_env", { ...openai, apiKeyEnv: bad }],
      ["generator.model", { ...onnx, model: bad }],
    ];
    if (!bad.includes("\u0007"))
      fields.push([
        "generator.prompt_template",
        { ...onnx, promptTemplate: `{{context}}{{question}}${bad}` },
      ]);
    for (const [field, g] of fields) {
      const err = await rpcError(
        r.client.registerVersion({ tenant: "bad", model: "generator", generator: g }),
      );
      expect(err?.code, field).toBe(Code.InvalidArgument);
      expect(err?.rawMessage.startsWith(`${field}: `), err?.rawMessage).toBe(true);
      expect(err?.rawMessage).toMatch(why);
      expect(err?.rawMessage.length).toBeLessThan(300);
    }
  });

  it("stored nothing for the refused requests", async () => {
    expect(
      (await rpcError(r.client.listVersions({ tenant: "bad", model: "generator" })))?.code,
    ).toBe(Code.NotFound);
  });
});
