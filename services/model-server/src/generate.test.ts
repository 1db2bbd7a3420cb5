import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { publishArtifact } from "@tailor/artifacts";
import { type LlamaFolder, writeLlamaFolder, writeModelFolder } from "@tailor/models/testing";
import { FinishReason, type GenerateResponse } from "@tailor/proto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CausalLm, type GenerationEvent } from "./runtime/causal-lm.js";
import { startTestServer, type TestServer } from "./test-server.js";

const PROMPT = "Once upon a time";
const MAX_POSITIONS = 4096;

let root: string;
let llama: LlamaFolder;
let lm: CausalLm;
let srv: TestServer;

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

async function drain(stream: AsyncIterable<GenerateResponse>): Promise<GenerateResponse[]> {
  const out: GenerateResponse[] = [];
  for await (const m of stream) out.push(m);
  return out;
}

async function runtimeText(params: { maxTokens: number }) {
  let text = "";
  const ids: number[] = [];
  let last: GenerationEvent | undefined;
  for await (const e of lm.generate(PROMPT, { ...params, temperature: 0 })) {
    if ("delta" in e) {
      text += e.delta;
      ids.push(...e.tokenIds);
    }
    last = e;
  }
  return { text, ids, last };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tailor-model-server-gen-"));
  const store = join(root, "store");
  llama = await writeLlamaFolder({
    dir: join(root, "src", "llama"),
    model: {
      layers: 2,
      hidden: 64,
      heads: 4,
      kvHeads: 2,
      intermediate: 128,
      maxPositions: MAX_POSITIONS,
      ropeTheta: 10000,
      seed: 3,
    },
  });
  // No end-of-sequence token: every stream runs to max_tokens, so a long one stays long.
  await writeFile(
    join(llama.dir, "generation_config.json"),
    JSON.stringify({ bos_token_id: llama.bosTokenId, eos_token_id: [], max_new_tokens: 64 }),
  );
  await writeFile(
    join(llama.dir, "config.json"),
    JSON.stringify({
      ...JSON.parse(await readFile(join(llama.dir, "config.json"), "utf8")),
      eos_token_id: [],
    }),
  );
  await publishArtifact(llama.dir, "tiny-llama", "1", { root: store });
  await writeModelFolder(join(root, "src", "emb"), { kind: "embedder" });
  await publishArtifact(join(root, "src", "emb"), "emb", "1", { root: store });
  lm = await CausalLm.load(llama.dir, { intraOpThreads: 1 });
  // One stream at a time and one waiting, so a held slot is visible as RESOURCE_EXHAUSTED;
  // a tiny, slow-to-flush embed queue so concurrent callers overflow it.
  srv = await startTestServer(store, {
    TAILOR_MODEL_SERVER_PRELOAD: "tiny-llama",
    TAILOR_MODEL_SERVER_DEFAULT_EMBEDDER: "emb@1",
    TAILOR_MODEL_SERVER_GENERATION_STREAMS: "1",
    TAILOR_MODEL_SERVER_GENERATION_QUEUE: "1",
    TAILOR_MODEL_SERVER_MAX_QUEUE_ITEMS: "4",
    TAILOR_MODEL_SERVER_MAX_QUEUE_DELAY_MS: "300",
    TAILOR_MODEL_SERVER_MAX_BATCH: "64",
  });
});

afterAll(async () => {
  await srv?.handle.destroy();
  await lm?.close();
  await rm(root, { recursive: true, force: true });
});

describe("Generate", () => {
  it("streams deltas that add up to the runtime's text, then finish reason and usage", async () => {
    const msgs = await drain(
      srv.client.generate({ model: "tiny-llama", prompt: PROMPT, params: { maxTokens: 24 } }),
    );
    const want = await runtimeText({ maxTokens: 24 });
    expect(msgs.length).toBeGreaterThan(2);
    for (const m of msgs) expect(m).toMatchObject({ model: "tiny-llama", version: "1" });
    const body = msgs.slice(0, -1);
    const last = msgs.at(-1)!;
    expect(body.map((m) => m.delta).join("")).toBe(want.text);
    expect(body.flatMap((m) => m.tokenIds)).toEqual(want.ids);
    for (const m of body) expect(m.finishReason).toBe(FinishReason.UNSPECIFIED);
    expect(last.delta).toBe("");
    expect(last.finishReason).toBe(FinishReason.LENGTH);
    expect(last.usage).toMatchObject({
      promptTokens: lm.tokenize(PROMPT).length,
      completionTokens: 24,
    });
  });

  it("tokenizes with the LM's tokenizer, special tokens on request", async () => {
    const t = await srv.client.tokenize({
      model: "tiny-llama",
      texts: [PROMPT],
      addSpecialTokens: true,
    });
    expect(t.results[0]!.ids).toEqual(lm.tokenize(PROMPT));
    expect(t.results[0]!.ids[0]).toBe(llama.bosTokenId);
    const bare = await srv.client.tokenize({ model: "tiny-llama", texts: [PROMPT] });
    expect(bare.results[0]!.ids).toEqual(lm.tokenize(PROMPT).slice(1));
  });

  it("rejects bad prompts and parameters naming the field", async () => {
    const cases: [Parameters<typeof srv.client.generate>[0], string][] = [
      [{ model: "tiny-llama", prompt: "" }, "prompt"],
      [{ model: "tiny-llama", prompt: "x", params: { temperature: -0.5 } }, "params.temperature"],
      [{ model: "tiny-llama", prompt: "x", params: { topP: 1.5 } }, "params.top_p"],
      [{ model: "tiny-llama", prompt: "x", params: { maxTokens: 100_000 } }, "params.max_tokens"],
    ];
    for (const [req, field] of cases) {
      const err = await failure(drain(srv.client.generate(req)));
      expect(err.code, field).toBe(Code.InvalidArgument);
      expect(err.rawMessage.startsWith(`${field}:`), err.rawMessage).toBe(true);
    }
    const kind = await failure(drain(srv.client.generate({ model: "emb", prompt: "x" })));
    expect(kind.code).toBe(Code.FailedPrecondition);
    const missing = await failure(drain(srv.client.generate({ model: "nope", prompt: "x" })));
    expect(missing.code).toBe(Code.NotFound);
  });

  it("frees a cancelled stream's slot for the queued caller at once", async () => {
    const long = { model: "tiny-llama", prompt: PROMPT, params: { maxTokens: MAX_POSITIONS - 64 } };
    const controller = new AbortController();
    const first = srv.client.generate(long, { signal: controller.signal })[Symbol.asyncIterator]();
    expect((await first.next()).done).toBe(false);
    const short = { model: "tiny-llama", prompt: PROMPT, params: { maxTokens: 4 } };
    const queued = drain(srv.client.generate(short));
    // The queued call must be accepted before the next one can see a full queue.
    await vi.waitFor(async () => {
      const { models } = await srv.client.listModels({});
      expect(models.find((m) => m.name === "tiny-llama")?.queueDepth).toBe(1);
    }, 10_000);
    const refused = await failure(drain(srv.client.generate(short)));
    expect(refused.code).toBe(Code.ResourceExhausted);

    const cancelledAt = performance.now();
    controller.abort();
    await expect(first.next()).rejects.toThrow();
    const served = await queued;
    // Running out its ~4000 tokens would take seconds; the freed slot serves the queue at once.
    expect(performance.now() - cancelledAt).toBeLessThan(1500);
    expect(served.at(-1)?.usage?.completionTokens).toBe(4);
    expect(served.at(-1)?.finishReason).toBe(FinishReason.LENGTH);
  });
});

describe("encoder queue limits", () => {
  it("answers RESOURCE_EXHAUSTED when the queue is full and serves what fit", async () => {
    const calls = Array.from({ length: 10 }, (_, i) =>
      srv.client.embed({ model: "emb", texts: [`text ${i}`] }).then(
        (): Code | "ok" => "ok",
        (err: unknown) => ConnectError.from(err).code,
      ),
    );
    const codes = await Promise.all(calls);
    expect(codes.filter((c) => c === "ok")).toHaveLength(4);
    expect(codes.filter((c) => c === Code.ResourceExhausted)).toHaveLength(6);
  });

  it("answers DEADLINE_EXCEEDED when the deadline passes while queued", async () => {
    const err = await failure(srv.client.embed({ model: "emb", texts: ["x"] }, { timeoutMs: 50 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
  });

  it("serves unnamed Embed calls with the configured default and refuses to unload it", async () => {
    const e = await srv.client.embed({ texts: ["cat"] });
    expect(e).toMatchObject({ model: "emb", version: "1", dimensions: 32 });
    const err = await failure(srv.client.unloadModel({ name: "emb" }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toContain("default embedder");
  });
});
