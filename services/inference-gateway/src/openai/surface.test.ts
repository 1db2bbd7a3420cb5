import http2 from "node:http2";
import net from "node:net";
/** Auth, embeddings, models, HTTP/2 and hostile requests against in-test seams. */
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import {
  calls,
  chatBody,
  DIMS,
  EMBEDDER,
  errorOf,
  held,
  KEY,
  LIMITED,
  READ_MAX,
  seenAuthorization,
  useOpenAiServer,
} from "./test-fixtures.js";

const { base, client, post } = useOpenAiServer();

describe("auth and limits", () => {
  it("no key or a bad key is AuthenticationError; an empty bucket is 429 with retry-after", async () => {
    const keyless = new OpenAI({
      apiKey: "unused",
      baseURL: `${base()}/v1`,
      maxRetries: 0,
      defaultHeaders: { authorization: null },
    });
    seenAuthorization.length = 0;
    for (const c of [keyless, client("tlr_wrong")]) {
      const err = await c.models.list().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    }
    expect(seenAuthorization).toEqual([null, "Bearer tlr_wrong"]);
    const raw = await fetch(`${base()}/v1/models`);
    expect(raw.status).toBe(401);
    expect((await errorOf(raw)).type).toBe("authentication_error");
    const limited = await client(LIMITED)
      .chat.completions.create({ model: "prod", messages: [{ role: "user", content: "q" }] })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers.get("retry-after")).toBe(
      "3",
    );
    expect(calls).toHaveLength(0);
  });
});

describe("POST /v1/embeddings and GET /v1/models", () => {
  it("embeds at the route's exact embedder, as floats or base64, and holds the budget", async () => {
    const { data: a, response } = await client()
      .embeddings.create({ model: "tailor", input: ["one two", "three"] })
      .withResponse();
    expect(Number(response.headers.get("x-tailor-overhead-ms"))).toBeGreaterThanOrEqual(0);
    expect(a.model).toBe(EMBEDDER);
    expect(a.data).toHaveLength(2);
    expect(a.data[0]?.embedding).toHaveLength(DIMS);
    expect(a.data[0]?.embedding[1]).toBeCloseTo(7.1, 5);
    expect(a.data[1]?.index).toBe(1);
    expect(a.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(held).toEqual([{ tokens: 1024, settled: 3 }]);
    const f = await client().embeddings.create({
      model: EMBEDDER,
      input: "solo",
      encoding_format: "float",
    });
    expect(f.data[0]?.embedding.slice(0, 2)).toEqual([4, expect.closeTo(4.1, 5)]);
    const wrong = await client()
      .embeddings.create({ model: "prod", input: "x", dimensions: 3 })
      .catch((e: unknown) => e);
    expect(wrong).toMatchObject({ status: 400, param: "dimensions" });
    const unknown = await client()
      .embeddings.create({ model: "other-emb@2.0.0", input: "x" })
      .catch((e: unknown) => e);
    expect(unknown).toMatchObject({ status: 404, code: "model_not_found" });
    const tokens = await post("/v1/embeddings", JSON.stringify({ model: "prod", input: [[1, 2]] }));
    expect(tokens.status).toBe(400);
    expect((await errorOf(tokens)).param).toBe("input[0]");
  });

  it("lists the tenant's aliases and exact versions", async () => {
    const ids: string[] = [];
    for await (const m of client().models.list()) ids.push(m.id);
    expect(ids).toEqual(["prod", "canary", "retrieval@v3", "retrieval@v4"]);
    expect((await client().models.retrieve("tailor")).id).toBe("tailor");
    const missing = await client()
      .models.retrieve("retrieval@v9")
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("serves HTTP/2 (h2c): models, a stream with its overhead trailer, a 413 that stops the upload", async () => {
    const session = http2.connect(base());
    const h2 = (headers: http2.OutgoingHttpHeaders, body?: string | Uint8Array) =>
      new Promise<{ status: number; body: string; trailers: http2.IncomingHttpHeaders }>(
        (resolve, reject) => {
          const s = session.request({ authorization: `Bearer ${KEY}`, ...headers });
          let status = 0;
          let data = "";
          let trailers: http2.IncomingHttpHeaders = {};
          s.setEncoding("utf8");
          s.on("response", (h) => {
            status = Number(h[":status"]);
          });
          s.on("trailers", (t) => {
            trailers = t;
          });
          s.on("data", (d: string) => {
            data += d;
          });
          s.on("close", () => resolve({ status, body: data, trailers }));
          s.on("error", reject);
          if (body !== undefined) s.end(body);
        },
      );
    try {
      const models = await h2({ ":path": "/v1/models" });
      expect(JSON.parse(models.body).data[0].id).toBe("prod");
      const stream = await h2(
        { ":path": "/v1/chat/completions", ":method": "POST" },
        chatBody({ stream: true }),
      );
      expect(stream.status).toBe(200);
      expect(stream.body.trimEnd().endsWith("data: [DONE]")).toBe(true);
      expect(Number(stream.trailers["x-tailor-overhead-ms"])).toBeGreaterThanOrEqual(0.25);
      // Declares 3 MB, sends 1 MB: refused from the declared length, the rest is not awaited.
      const big = await h2(
        { ":path": "/v1/chat/completions", ":method": "POST", "content-length": 3 * 1024 * 1024 },
        new Uint8Array(1024 * 1024).fill(0x20),
      );
      expect(big.status).toBe(413);
      // The session is still good for the next request.
      expect((await h2({ ":path": "/v1/models" })).status).toBe(200);
    } finally {
      session.close();
    }
  });
});

describe("hostile requests", () => {
  const expect400 = async (r: Response, param: string | null, message: RegExp) => {
    expect(r.status).toBe(400);
    const e = await errorOf(r);
    expect(e.type).toBe("invalid_request_error");
    expect(e.param).toBe(param);
    expect(e.message).toMatch(message);
  };

  it("names what is wrong: JSON, UTF-8, NUL, lone surrogates, types, empty messages", async () => {
    await expect400(await post("/v1/chat/completions", "{not json"), null, /not valid JSON/);
    await expect400(
      await post("/v1/chat/completions", new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
      null,
      /not valid UTF-8/,
    );
    await expect400(
      await post(
        "/v1/chat/completions",
        chatBody({ messages: [{ role: "user", content: "a\u0000b" }] }),
      ),
      "messages[0].content",
      /NUL/,
    );
    await expect400(
      await post(
        "/v1/chat/completions",
        '{"model":"prod","messages":[{"role":"user","content":"x\\ud800"}]}',
      ),
      "messages[0].content",
      /surrogate/,
    );
    await expect400(
      await post("/v1/chat/completions", chatBody({ messages: [] })),
      "messages",
      /at least one/,
    );
    await expect400(
      await post("/v1/chat/completions", chatBody({ messages: "hi" })),
      "messages",
      /array/,
    );
    await expect400(
      await post("/v1/chat/completions", chatBody({ max_tokens: "9" })),
      "max_tokens",
      /integer/,
    );
    await expect400(await post("/v1/chat/completions", chatBody({ model: 7 })), "model", /string/);
    await expect400(await post("/v1/chat/completions", "[1,2]"), null, /JSON object/);
    await expect400(
      await post("/v1/chat/completions", chatBody({ messages: [{ role: "tool", content: "x" }] })),
      "messages[0].role",
      /tool/,
    );
    await expect400(
      await post(
        "/v1/chat/completions",
        chatBody({ messages: [{ role: "user", content: "x".repeat(2001) }] }),
      ),
      "messages[0].content",
      /2001 characters/,
    );
    await expect400(
      await post("/v1/chat/completions", chatBody(), { "x-tailor-routing-key": "a\tb" }),
      "x-tailor-routing-key",
      /control/,
    );
    expect(calls).toHaveLength(0);
  });

  it("refuses bodies over the limit with 413, declared or streamed, and survives deep nesting", async () => {
    const big = await post("/v1/chat/completions", "x".repeat(3 * 1024 * 1024));
    expect(big.status).toBe(413);
    expect((await errorOf(big)).code).toBe("request_too_large");
    const parts = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 200; i++) c.enqueue(new Uint8Array(4096).fill(0x20));
        c.close();
      },
    });
    const streamed = await fetch(`${base()}/v1/embeddings`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
      body: parts,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    const deep = await post("/v1/chat/completions", `${"[".repeat(30_000)}${"]".repeat(30_000)}`);
    expect(deep.status).toBe(400);
    // Clients that vanish mid-upload, before and past the limit.
    for (const sent of [10, READ_MAX + 10]) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(Number(new URL(base()).port), "127.0.0.1", () => {
          socket.write(
            `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEY}\r\n` +
              `transfer-encoding: chunked\r\n\r\n${sent.toString(16)}\r\n${"x".repeat(sent)}\r\n`,
          );
          setTimeout(() => {
            socket.resetAndDestroy();
            resolve();
          }, 50);
        });
        socket.on("error", () => {});
      });
    }
    // The server still answers afterwards.
    expect((await client().models.list()).data.length).toBeGreaterThan(0);
  });

  it("unknown paths are 404 JSON, wrong methods 405", async () => {
    const r = await post("/v1/completions", "{}");
    expect(r.status).toBe(404);
    expect((await errorOf(r)).code).toBe("unknown_url");
    const m = await fetch(`${base()}/v1/chat/completions`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(m.status).toBe(405);
    expect(m.headers.get("allow")).toBe("POST");
  });
});
