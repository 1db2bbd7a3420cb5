import { fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { FeedbackReceivedSchema } from "@tailor/proto";
import { rpcError, streamMessages } from "@tailor/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bearer,
  connectStream,
  connectUnary,
  grpcAsk,
  grpcChat,
  grpcGateway,
} from "./gateway-clients.js";
import { type GatewayStack, marker, startGatewayStack } from "./gateway-stack.js";

/**
 * The gateway's own API as backend teams call it, over a real stack: Connect JSON with plain
 * fetch (as curl does), gRPC through @grpc/grpc-js with gateway.proto, and Connect's client.
 */
describe("inference-gateway: Ask, Chat and feedback over every API shape", () => {
  let s: GatewayStack;
  let h: GatewayStack["h"];
  let url: string;
  let keys: GatewayStack["keys"];
  let auth: GatewayStack["auth"];
  let chunkIdsOf: GatewayStack["chunkIdsOf"];
  const gateway = () => s.gateway;

  beforeAll(async () => {
    s = await startGatewayStack("gateway");
    ({ h, url, keys, auth, chunkIdsOf } = s);
  }, 300_000);
  afterAll(async () => {
    await s?.h.close();
  });

  it("Ask over Connect JSON (plain fetch): an answer citing real chunks, the exact versions and the overhead", async () => {
    const res = await connectUnary(
      url,
      "Ask",
      { question: `How much does permit ${marker("acme", 2)} cost per day?` },
      { authorization: `Bearer ${keys.acme}` },
    );
    const body = (await res.json()) as AskJson;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.answer).toContain("102 euros");
    expect(body.answer).toMatch(/\[\d+\]/);
    const real = await chunkIdsOf("acme");
    expect(body.citations.length).toBeGreaterThan(0);
    for (const c of body.citations) {
      expect(real.has(c.chunkId)).toBe(true);
      expect(body.answer).toContain(`[${c.number}]`);
    }
    expect(body.citations.map((c) => c.documentId)).toContain("acme-doc-2");
    expect(body.versions).toMatchObject({
      retrieval: expect.stringMatching(/^retrieval@v\d+$/),
      alias: "prod",
      embedder: expect.stringMatching(/^glove-sg-100d@/),
      generator: expect.stringMatching(/^generator@v\d+$/),
      generatorModel: "extractive",
    });
    expect(body.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers.get("x-tailor-overhead-ms")).toMatch(/^\d+\.\d{3}$/);
    // Where the time went, per phase (W3C Server-Timing).
    expect(res.headers.get("server-timing")).toMatch(
      /^gateway;dur=[\d.]+, .*retrieval;dur=[\d.]+.*guard_out;dur=[\d.]+.*log;dur=[\d.]+/,
    );
    const row = await h.sql.query(
      "select tenant, api, record from gateway.interactions where id = $1",
      [body.interactionId],
    );
    expect(row.rows[0]).toMatchObject({ tenant: "acme", api: "ask" });
    expect(row.rows[0].record.retrievalVersion).toBe(body.versions.retrieval);
  });

  it("takes the caller's W3C traceparent as the answer's trace id", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await gateway().ask(
      { question: `Who handles permit ${marker("acme", 1)}?` },
      {
        headers: {
          ...auth("acme").headers,
          traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        },
      },
    );
    expect(res.traceId).toBe(traceId);
  });

  it("Chat over Connect JSON streams deltas before `done`, with the overhead as a trailer", async () => {
    const { status, frames } = await connectStream(
      url,
      "Chat",
      {
        messages: [
          { role: "user", content: "Hello" },
          { role: "assistant", content: "Hello, how can I help?" },
          { role: "user", content: `What does permit ${marker("acme", 4)} cost per day?` },
        ],
      },
      { authorization: `Bearer ${keys.acme}` },
    );
    expect(status).toBe(200);
    const messages = frames.filter((f) => !f.end);
    const end = frames.find((f) => f.end);
    expect(end?.json["error"], JSON.stringify(end?.json)).toBeUndefined();
    const deltas = messages.filter((f) => typeof f.json["delta"] === "string");
    const done = messages.at(-1);
    expect(deltas.length).toBeGreaterThan(0);
    expect(done?.json["done"]).toBeDefined();
    expect(messages.indexOf(deltas[0]!)).toBeLessThan(messages.length - 1);
    expect(deltas[0]!.at).toBeLessThanOrEqual(done!.at);
    const text = deltas.map((f) => f.json["delta"]).join("");
    expect(text).toContain("104 euros");
    const d = done!.json["done"] as {
      citations: { chunkId: string; number: number }[];
      overheadMs?: number;
      versions: { generator: string };
    };
    const real = await chunkIdsOf("acme");
    expect(d.citations.length).toBeGreaterThan(0);
    for (const c of d.citations) {
      expect(real.has(c.chunkId)).toBe(true);
      expect(text).toContain(`[${c.number}]`);
    }
    expect(d.versions.generator).toMatch(/^generator@v\d+$/);
    const trailers = (end?.json["metadata"] ?? {}) as Record<string, string[]>;
    // The trailer and ChatDone carry the same measure of the gateway's own time.
    expect(trailers["x-tailor-overhead-ms"]?.[0]).toMatch(/^\d+\.\d{3}$/);
    expect(Number(trailers["x-tailor-overhead-ms"]?.[0])).toBe(Number(d.overheadMs?.toFixed(3)));
  });

  it("Ask and Chat over @grpc/grpc-js with gateway.proto loaded at run time", async () => {
    const c = grpcGateway(url);
    try {
      const a = await grpcAsk(
        c,
        { question: `How much does permit ${marker("globex", 3)} cost?` },
        bearer(keys.globex),
      );
      expect(a["answer"]).toContain("103 euros");
      const cites = a["citations"] as { chunkId: string }[];
      const real = await chunkIdsOf("globex");
      expect(cites.length).toBeGreaterThan(0);
      for (const x of cites) expect(real.has(x.chunkId)).toBe(true);

      const { messages, trailers } = await grpcChat(
        c,
        {
          messages: [
            { role: "user", content: `Which vessels need a pilot for ${marker("globex", 5)}?` },
          ],
        },
        bearer(keys.globex),
      );
      const kinds = messages.map((x) => x.m["event"]);
      expect(kinds.at(-1)).toBe("done");
      expect(kinds.slice(0, -1).length).toBeGreaterThan(0);
      expect(kinds.slice(0, -1).every((k) => k === "delta")).toBe(true);
      expect(messages.map((x) => x.m["delta"]).join("")).toContain("25 metres");
      expect(String(trailers.get("x-tailor-overhead-ms")[0])).toMatch(/^\d+\.\d{3}$/);
      const err = await new Promise<{ code: number }>((resolve) =>
        c.Ask({ question: "" }, bearer(keys.globex), (e) => resolve(e as { code: number })),
      );
      expect(err.code).toBe(3); // INVALID_ARGUMENT
    } finally {
      c.close();
    }
  });

  it("refuses bad requests with the right code, naming the problem", async () => {
    const g = gateway();
    const q = `How much does permit ${marker("acme", 1)} cost?`;
    const cases: [string, () => Promise<unknown>, Code, RegExp][] = [
      [
        "empty question",
        () => g.ask({ question: "" }, auth("acme")),
        Code.InvalidArgument,
        /question/,
      ],
      [
        "blank question",
        () => g.ask({ question: " \n " }, auth("acme")),
        Code.InvalidArgument,
        /question/,
      ],
      [
        "NUL",
        () => g.ask({ question: "a\u0000b" }, auth("acme")),
        Code.InvalidArgument,
        /question.*NUL/,
      ],
      [
        "k too large",
        () => g.ask({ question: q, k: 10_000 }, auth("acme")),
        Code.InvalidArgument,
        /^.*k: /,
      ],
      [
        "unknown alias",
        () => g.ask({ question: q, route: { alias: "blue" } }, auth("acme")),
        Code.NotFound,
        /blue/,
      ],
      [
        "no canary",
        () => g.ask({ question: q, route: { alias: "canary" } }, auth("acme")),
        Code.NotFound,
        /canary/,
      ],
      [
        "unknown version",
        () => g.ask({ question: q, route: { version: "retrieval@v99" } }, auth("acme")),
        Code.NotFound,
        /retrieval@v99/,
      ],
      [
        "bad alias",
        () => g.ask({ question: q, route: { alias: "Prod!" } }, auth("acme")),
        Code.InvalidArgument,
        /route\.alias/,
      ],
      ["missing key", () => g.ask({ question: q }), Code.Unauthenticated, /./],
      [
        "bad key",
        () => g.ask({ question: q }, { headers: { authorization: "Bearer tlr_nope_nope" } }),
        Code.Unauthenticated,
        /./,
      ],
      [
        "chat without messages",
        () => collect(g.chat({ messages: [] }, auth("acme"))),
        Code.InvalidArgument,
        /messages/,
      ],
      [
        "chat ending with the assistant",
        () => collect(g.chat({ messages: [{ role: "assistant", content: q }] }, auth("acme"))),
        Code.InvalidArgument,
        /messages\[0\]\.role/,
      ],
      [
        "chat with an empty question",
        () => collect(g.chat({ messages: [{ role: "user", content: "" }] }, auth("acme"))),
        Code.InvalidArgument,
        /messages\[0\]\.content/,
      ],
      [
        "search without a query",
        () => g.search({ query: "" }, auth("acme")),
        Code.InvalidArgument,
        /query/,
      ],
      [
        "rating out of range",
        () => g.submitFeedback({ interactionId: "x", rating: 2 }, auth("acme")),
        Code.InvalidArgument,
        /rating/,
      ],
    ];
    for (const [what, call, code, message] of cases) {
      const err = await rpcError(call());
      expect(err && Code[err.code], what).toBe(Code[code]);
      expect(err?.rawMessage, what).toMatch(message);
    }
    // Long but within the question limit: answered (retrieval searches with its start).
    const long = await g.ask(
      { question: `Permit ${marker("acme", 1)} ${"and its cost ".repeat(500)}?` },
      auth("acme"),
    );
    expect(long.citations.map((c) => c.documentId)).toContain("acme-doc-1");
    // A question of 1 MB: refused by its size (the field's limit or the read limit), by name.
    const big = await connectUnary(
      url,
      "Ask",
      { question: "a".repeat(1024 * 1024) },
      {
        authorization: `Bearer ${keys.acme}`,
      },
    );
    const bigBody = (await big.json()) as ErrorJson;
    expect(["invalid_argument", "resource_exhausted"]).toContain(bigBody.code);
    expect(bigBody.message).toMatch(/question|bytes|size/);
    // A lone surrogate, as JSON escapes it.
    const lone = await connectUnary(url, "Ask", '{"question":"permit \\ud800 cost"}', {
      authorization: `Bearer ${keys.acme}`,
    });
    expect(((await lone.json()) as ErrorJson).code).toBe("invalid_argument");
  });

  it("hostile fields get an answer or a refusal naming the field, never an internal error", async () => {
    const hostile = fc.oneof(
      fc.string({ unit: "binary", maxLength: 80 }),
      fc.string({ unit: "grapheme", maxLength: 80 }),
      // Over the question limit; and long but within it (past what retrieval takes as a query).
      fc.constantFrom("\u0000", "\ud800x", "a\u0007b", " ", "x".repeat(9000), "é ".repeat(3000)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          question: hostile,
          alias: fc.oneof(fc.constant(""), hostile),
          routingKey: fc.oneof(fc.constant(""), hostile),
          source: hostile,
          k: fc.integer({ min: 0, max: 100 }),
        }),
        async (x) => {
          const res = await connectUnary(
            url,
            "Ask",
            {
              question: x.question,
              route: { alias: x.alias, routingKey: x.routingKey },
              k: x.k,
              sources: [x.source],
            },
            { authorization: `Bearer ${keys.acme}` },
          );
          const body = (await res.json()) as ErrorJson & Partial<AskJson>;
          if (res.status === 200) return;
          expect(["invalid_argument", "not_found", "permission_denied"], body.message).toContain(
            body.code,
          );
          // Invalid Unicode is refused while decoding, naming the field as protobuf does.
          expect(body.message).toMatch(
            /^(question|route\.alias|route\.routing_key|sources\[0\]|k|alias [a-z0-9-]+): |^cannot decode field tailor\.gateway\.v1\.(AskRequest|Route)\.\w+ /,
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it("feedback: only on the caller's tenant's interactions, with the guard's false positive flag", async () => {
    const g = gateway();
    const a = await g.ask(
      { question: `What does permit ${marker("acme", 3)} cost?` },
      auth("acme"),
    );
    // Another tenant's key finds no such interaction.
    const other = await rpcError(
      g.submitFeedback({ interactionId: a.interactionId, rating: 1 }, auth("globex")),
    );
    expect(other?.code).toBe(Code.NotFound);
    const fb = await g.submitFeedback(
      {
        interactionId: a.interactionId,
        rating: -1,
        relevantChunkIds: a.citations.map((c) => c.chunkId),
        guardFalsePositive: true,
      },
      auth("acme"),
    );
    expect(fb.feedbackId).not.toBe("");
    await h.settle();
    const events = (await streamMessages(h.bus, "FEEDBACK", "feedback.acme.received")).map((m) =>
      fromBinary(FeedbackReceivedSchema, m.data),
    );
    const e = events.find((x) => x.feedbackId === fb.feedbackId);
    expect(e).toMatchObject({
      tenant: "acme",
      interaction: a.interactionId,
      rating: -1,
      guardFalsePositive: true,
      version: a.versions?.retrieval,
    });
    expect(e?.keyId).not.toBe("");
    expect(e?.question).toContain(marker("acme", 3));
  });
});

/** AskResponse as Connect JSON spells it (what a curl user reads). */
interface AskJson {
  answer: string;
  citations: { number: number; chunkId: string; documentId: string }[];
  versions: Record<string, string>;
  traceId: string;
  interactionId: string;
}

interface ErrorJson {
  code: string;
  message: string;
}

async function collect(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const m of stream) out.push(m);
  return out;
}
