import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { type Client, Code } from "@connectrpc/connect";
import { GeneratorSpecSchema, type ModelService } from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { GenerateInput, Generator, Passage } from "../types.js";
import { createGenerator } from "./index.js";
import { NO_ANSWER } from "./prompt.js";
import { connectFailure, runGenerator } from "./testing.js";
import { estimateTokens } from "./tokens.js";

// The upstream here is a real HTTP server speaking the chat-completions SSE protocol (as vLLM,
// TGI or Ollama do), scripted per test; the generator talks to it through the openai client.

interface Seen {
  authorization: string | undefined;
  body: Record<string, unknown>;
  closed: boolean;
}

type Script = (req: IncomingMessage, res: ServerResponse, seen: Seen) => Promise<void> | void;

let server: Server;
let baseUrl: string;
let script: Script;
const seen: Seen[] = [];
const logger = createLogger("gateway-openai-test", "silent");
const models = {} as Client<typeof ModelService>;
const KEY = "sk-test-Zq81mn0p4";

const PASSAGES: Passage[] = [
  {
    number: 1,
    chunkId: "c1",
    documentId: "d1",
    source: "kb",
    title: "Refunds",
    text: "Refunds are paid within 14 days.",
    score: 0.9,
  },
  {
    number: 2,
    chunkId: "c2",
    documentId: "d2",
    source: "kb",
    title: "Cards",
    text: "A refund goes back to the card.",
    score: 0.4,
  },
];

function chunk(delta: Record<string, unknown>, finish: string | null = null, extra = {}) {
  return {
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "up-model",
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...extra,
  };
}

function sse(res: ServerResponse, data: unknown) {
  res.write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
}

/** Streams `pieces` as content deltas, then a finish chunk, a usage chunk (if any) and [DONE]. */
function streamed(
  pieces: string[],
  o: { usage?: object; finish?: string; delayMs?: number } = {},
): Script {
  return async (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    sse(res, chunk({ role: "assistant", content: "" }));
    for (const p of pieces) {
      sse(res, chunk({ content: p }));
      if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
    }
    sse(res, chunk({}, o.finish ?? "stop"));
    if (o.usage) sse(res, { ...chunk({}), choices: [], usage: o.usage });
    sse(res, "[DONE]");
    res.end();
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (d) => {
      raw += d;
    });
    req.on("end", () => {
      const s: Seen = {
        authorization: req.headers.authorization,
        body: JSON.parse(raw || "{}"),
        closed: false,
      };
      res.on("close", () => {
        s.closed = true;
      });
      seen.push(s);
      if (req.url !== "/v1/chat/completions" || req.method !== "POST") {
        res.writeHead(404).end();
        return;
      }
      void Promise.resolve(script(req, res, s)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterEach(() => {
  seen.length = 0;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const spec = (over: Record<string, unknown> = {}) =>
  create(GeneratorSpecSchema, {
    kind: "openai",
    model: "up-model",
    baseUrl,
    apiKeyEnv: "UPSTREAM_KEY",
    ...over,
  });

function gen(
  over: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = { UPSTREAM_KEY: KEY },
): Generator {
  return createGenerator(spec(over), "generator@v4", { models, logger, env });
}

function input(over: Partial<GenerateInput> = {}): GenerateInput {
  return {
    question: "How fast are refunds?",
    history: [],
    passages: PASSAGES,
    maxTokens: 0,
    ...over,
  };
}

describe("openai generator (local OpenAI-compatible upstream over SSE)", () => {
  it("streams deltas with the key from the named variable and takes usage from the usage chunk", async () => {
    script = streamed(["Refunds are paid ", "within 14 days ", "[1]."], {
      usage: { prompt_tokens: 123, completion_tokens: 7, total_tokens: 130 },
    });
    const history = [
      { role: "user" as const, content: "Hi\u0000" },
      { role: "assistant" as const, content: "Hello." },
    ];
    const r = await runGenerator(
      gen({ maxTokens: 64, temperature: 0.3 }),
      input({ history, maxTokens: 32 }),
    );
    expect(r.deltas).toEqual(["Refunds are paid ", "within 14 days ", "[1]."]);
    expect(r.result).toEqual({ promptTokens: 123, completionTokens: 7, finishReason: "stop" });
    const s = seen[0]!;
    expect(s.authorization).toBe(`Bearer ${KEY}`);
    expect(s.body).toMatchObject({
      model: "up-model",
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 32,
      temperature: 0.3,
    });
    const messages = s.body["messages"] as { role: string; content: string }[];
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(messages[0]!.content).toBe("Hi ");
    const prompt = messages[2]!.content;
    expect(prompt).toContain("[1] Refunds: Refunds are paid within 14 days.");
    expect(prompt).toContain("[2] Cards: A refund goes back to the card.");
    expect(prompt).toContain("Question: How fast are refunds?");
    expect(prompt).not.toContain("{{");
  });

  it("estimates usage without a usage chunk and reports a length finish", async () => {
    script = streamed(["A ", "partial"], { finish: "length" });
    const r = await runGenerator(gen(), input());
    expect(r.result.finishReason).toBe("length");
    expect(r.result.completionTokens).toBe(estimateTokens("A partial"));
    expect(r.result.promptTokens).toBeGreaterThan(estimateTokens(PASSAGES[0]!.text));
    expect(seen[0]!.body["max_tokens"]).toBe(256);
  });

  it("cuts an upstream that ignores max_tokens at a bounded size", async () => {
    script = streamed(Array.from({ length: 200 }, () => "word ".repeat(20)));
    const r = await runGenerator(gen({ maxTokens: 10 }), input());
    expect(r.text.length).toBe(10 * 16);
    expect(r.result.finishReason).toBe("length");
    await expect.poll(() => seen[0]?.closed).toBe(true);
  });

  it("names a missing key's variable, never a value, and sends no key where none is set", async () => {
    script = streamed(["ok [1]."]);
    const missing = await connectFailure(runGenerator(gen({}, { OTHER: KEY }), input()));
    expect(missing.code).toBe(Code.FailedPrecondition);
    expect(missing.rawMessage).toContain("UPSTREAM_KEY");
    expect(missing.rawMessage).not.toContain(KEY);
    expect(seen).toHaveLength(0);
    // The client never falls back to the process's own OPENAI_API_KEY for an upstream.
    const saved = process.env["OPENAI_API_KEY"];
    process.env["OPENAI_API_KEY"] = "sk-gateway-own-key";
    try {
      const r = await runGenerator(gen({ apiKeyEnv: "" }), input());
      expect(r.text).toBe("ok [1].");
      expect(seen[0]!.authorization).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env["OPENAI_API_KEY"];
      else process.env["OPENAI_API_KEY"] = saved;
    }
  });

  it("maps upstream failures to codes without echoing the upstream's body or the key", async () => {
    const status =
      (code: number): Script =>
      (_req, res) => {
        res.writeHead(code, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `bad key ${KEY} and the prompt` } }));
      };
    const cases: [number, Code, RegExp][] = [
      [401, Code.FailedPrecondition, /refused the key in UPSTREAM_KEY \(HTTP 401\)/],
      [404, Code.FailedPrecondition, /no such model/],
      [400, Code.InvalidArgument, /refused the request \(HTTP 400\)/],
      [429, Code.Unavailable, /HTTP 429/],
      [503, Code.Unavailable, /HTTP 503/],
    ];
    for (const [http, code, message] of cases) {
      script = status(http);
      const err = await connectFailure(runGenerator(gen(), input()));
      expect([http, err.code]).toEqual([http, code]);
      expect(err.rawMessage).toMatch(message);
      expect(err.rawMessage).toMatch(/^generator generator@v4 \(upstream model up-model\)/);
      expect(err.rawMessage).not.toContain(KEY);
      expect(err.rawMessage).not.toContain("prompt");
    }
    const down = createGenerator(spec({ baseUrl: "http://127.0.0.1:1/v1" }), "generator@v4", {
      models,
      logger,
      env: { UPSTREAM_KEY: KEY },
    });
    expect((await connectFailure(runGenerator(down, input()))).code).toBe(Code.Unavailable);
  });

  it("stops the upstream stream when the signal is aborted", async () => {
    script = streamed(
      Array.from({ length: 100 }, (_, i) => `w${i} `),
      { delayMs: 20 },
    );
    const ac = new AbortController();
    const it = gen().generate(input({ signal: ac.signal }));
    expect((await it.next()).done).toBe(false);
    ac.abort();
    const err = await connectFailure(
      (async () => {
        for (;;) if ((await it.next()).done) return;
      })(),
    );
    expect(err.code).toBe(Code.Canceled);
    await expect.poll(() => seen[0]?.closed).toBe(true);
  });

  it("answers without calling the upstream when nothing was retrieved", async () => {
    script = streamed(["never"]);
    expect((await runGenerator(gen(), input({ passages: [] }))).text).toBe(NO_ANSWER);
    expect(seen).toHaveLength(0);
  });
});
