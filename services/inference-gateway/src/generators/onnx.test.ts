import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createMessage } from "@bufbuild/protobuf";
import { type Client, Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { publishArtifact } from "@tailor/artifacts";
import {
  create as createModelServer,
  type ModelServerHandle,
  parseModelServerConfig,
} from "@tailor/model-server";
import { writeLlamaFolder } from "@tailor/models/testing";
import { GeneratorSpecSchema, ModelService } from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerateInput, Passage } from "../types.js";
import { createGenerator } from "./index.js";
import { formatContext, formatHistory, NO_ANSWER, renderPrompt } from "./prompt.js";
import { connectFailure, runGenerator } from "./testing.js";

const logger = createLogger("gateway-onnx-test", "silent");
let root: string;
let server: ModelServerHandle;
let models: Client<typeof ModelService>;

const PASSAGES: Passage[] = [
  {
    number: 1,
    chunkId: "c1",
    documentId: "d1",
    source: "kb",
    title: "Refunds",
    text: "Refunds are paid within 14 days of a cancelled booking.",
    score: 0.9,
  },
  {
    number: 2,
    chunkId: "c2",
    documentId: "d2",
    source: "kb",
    title: "Cards",
    text: "A refund goes back to the card used for the booking.",
    score: 0.5,
  },
];

const spec = (over: Record<string, unknown> = {}) =>
  createMessage(GeneratorSpecSchema, { kind: "onnx", model: "tiny-llama@1", ...over });

function input(over: Partial<GenerateInput> = {}): GenerateInput {
  return {
    question: "How fast are refunds paid?",
    history: [],
    passages: PASSAGES,
    maxTokens: 0,
    ...over,
  };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tailor-gw-onnx-"));
  const store = join(root, "store");
  const llama = await writeLlamaFolder({
    dir: join(root, "src", "llama"),
    model: {
      layers: 2,
      hidden: 64,
      heads: 4,
      kvHeads: 2,
      intermediate: 128,
      maxPositions: 2048,
      ropeTheta: 10000,
      seed: 11,
    },
  });
  // No end-of-sequence token: every answer runs to its token limit, so limits are observable.
  await writeFile(
    join(llama.dir, "generation_config.json"),
    JSON.stringify({ bos_token_id: llama.bosTokenId, eos_token_id: [], max_new_tokens: 64 }),
  );
  const config = JSON.parse(await readFile(join(llama.dir, "config.json"), "utf8"));
  await writeFile(join(llama.dir, "config.json"), JSON.stringify({ ...config, eos_token_id: [] }));
  await publishArtifact(llama.dir, "tiny-llama", "1", { root: store });
  server = await createModelServer(
    parseModelServerConfig({
      TAILOR_HOST: "127.0.0.1",
      TAILOR_MODEL_SERVER_PORT: "0",
      TAILOR_MODEL_SERVER_MODEL_DIR: store,
      TAILOR_MODEL_SERVER_DEFAULT_EMBEDDER: "none",
      TAILOR_MODEL_SERVER_ADMIN_TOKEN: "test-admin-token-0123456789",
      TAILOR_MODEL_SERVER_INTRA_OP_THREADS: "1",
      TAILOR_MODEL_SERVER_PRELOAD: "tiny-llama",
    }),
    { logger: createLogger("model-server-test", "silent") },
  );
  await server.start();
  models = createClient(
    ModelService,
    createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }),
  );
}, 120_000);

afterAll(async () => {
  await server?.destroy();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("onnx generator (real model-server, tiny causal LM)", () => {
  it("streams the model-server's continuation of the templated prompt with its usage", async () => {
    const gen = createGenerator(spec({ maxTokens: 12 }), "generator@v2", {
      models,
      logger,
      env: {},
    });
    expect([gen.version, gen.model]).toEqual(["generator@v2", "tiny-llama@1"]);
    const history = [
      { role: "user" as const, content: "Hi" },
      { role: "assistant" as const, content: "Hello [1]." },
    ];
    const r = await runGenerator(gen, input({ history }));
    expect(r.deltas.length).toBeGreaterThan(1);
    expect(r.result).toMatchObject({ completionTokens: 12, finishReason: "length" });
    // The same prompt sent directly gives the same greedy text and prompt token count.
    const prompt = renderPrompt("", {
      context: formatContext(PASSAGES),
      question: "How fast are refunds paid?",
      history: formatHistory(history),
    });
    expect(prompt).toContain("[1] Refunds: Refunds are paid within 14 days");
    // Earlier answers' markers point at earlier passages: they are left out.
    expect(prompt).toContain("User: Hi\nAssistant: Hello.");
    let direct = "";
    let promptTokens = 0;
    for await (const m of models.generate({
      model: "tiny-llama",
      version: "1",
      prompt,
      params: { maxTokens: 12 },
    })) {
      direct += m.delta;
      if (m.usage) promptTokens = m.usage.promptTokens;
    }
    expect(r.text).toBe(direct);
    expect(r.result.promptTokens).toBe(promptTokens);
  }, 60_000);

  it("honours the request's max tokens under the spec's cap, and a custom template", async () => {
    const gen = createGenerator(
      spec({ maxTokens: 10, promptTemplate: "Q: {{question}}\nC: {{context}}\nA:" }),
      "generator@v3",
      { models, logger, env: {} },
    );
    expect((await runGenerator(gen, input({ maxTokens: 4 }))).result.completionTokens).toBe(4);
    expect((await runGenerator(gen, input({ maxTokens: 500 }))).result.completionTokens).toBe(10);
    const capped = await runGenerator(gen, input({ question: "{{context}} twice?" }));
    const tok = await models.tokenize({
      model: "tiny-llama",
      version: "1",
      texts: [`Q: {{context}} twice?\nC: ${formatContext(PASSAGES)}\nA:`],
      addSpecialTokens: true,
    });
    // A question holding {{context}} is inserted as text, not expanded again.
    expect(capped.result.promptTokens).toBe(tok.results[0]!.ids.length);
  }, 60_000);

  it("stops generating when the signal is aborted", async () => {
    const gen = createGenerator(spec({ maxTokens: 1500 }), "generator@v2", {
      models,
      logger,
      env: {},
    });
    const ac = new AbortController();
    const it = gen.generate(input({ signal: ac.signal }));
    expect((await it.next()).done).toBe(false);
    const started = performance.now();
    ac.abort();
    const err = await connectFailure(
      (async () => {
        for (;;) if ((await it.next()).done) return;
      })(),
    );
    expect(err.code).toBe(Code.Canceled);
    expect(performance.now() - started).toBeLessThan(3000);
  }, 60_000);

  it("answers without the model when nothing was retrieved; a missing model is FAILED_PRECONDITION", async () => {
    const gen = createGenerator(spec(), "generator@v2", { models, logger, env: {} });
    expect((await runGenerator(gen, input({ passages: [] }))).text).toBe(NO_ANSWER);
    const missing = createGenerator(spec({ model: "absent@7" }), "generator@v9", {
      models,
      logger,
      env: {},
    });
    const err = await connectFailure(runGenerator(missing, input()));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toMatch(
      /generator@v9 \(absent@7 on the model-server\): the model is not loaded/,
    );
  });
});
