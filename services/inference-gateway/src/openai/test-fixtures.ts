import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { ModelService } from "@tailor/proto";
import { ChatDoneSchema, GatewayService, ModelRouteSchema } from "@tailor/proto/gateway";
import { RpcServer } from "@tailor/service";
import { createLogger } from "@tailor/telemetry";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach } from "vitest";
import type { GatewayContext } from "../context.js";
import type {
  AnswerEvent,
  AnswerRequest,
  Authenticator,
  Generator,
  Limiter,
  Orchestrator,
  RouteResolver,
} from "../types.js";
import { createOpenAiHandler } from "./index.js";

/**
 * Test fixtures: the OpenAI surface against small implementations of the gateway's seams (auth, limiter,
 * orchestrator, routes, model-server), served by a real RpcServer and called with the official
 * `openai` client and raw HTTP. The real stack is in tests/src/gateway-openai.test.ts.
 */

export const KEY = "tlr_good_secret";
export const LIMITED = "tlr_limited_secret";
export const EMBEDDER = "tiny-emb@1.0.0";
export const DIMS = 8;
export const READ_MAX = 64 * 1024;

export const seenAuthorization: (string | null | undefined)[] = [];
const authenticator: Authenticator = {
  async authenticate(h) {
    seenAuthorization.push(h);
    const key = /^Bearer (\S+)$/.exec(h ?? "")?.[1];
    if (key === KEY || key === LIMITED) return { tenant: "acme", keyId: key.slice(0, 8) };
    throw new ConnectError("missing or unknown api key", Code.Unauthenticated);
  },
};

export const held: { tokens: number; settled?: number }[] = [];
const limiter: Limiter = {
  async admit(caller) {
    if (caller.keyId === LIMITED.slice(0, 8)) {
      throw new ConnectError("rate limit: 5 requests/s", Code.ResourceExhausted, {
        "retry-after": "3",
      });
    }
  },
  async reserve(_caller, tokens) {
    const h: { tokens: number; settled?: number } = { tokens };
    held.push(h);
    return {
      settle: async (used) => {
        h.settled = used;
      },
    };
  },
};

const generator = { version: "generator@v1", model: "extractive" } as unknown as Generator;
const routes: RouteResolver = {
  async resolve(_tenant, route) {
    const version = route.version || (route.alias === "canary" ? "retrieval@v4" : "retrieval@v3");
    if (!["prod", "canary", ""].includes(route.alias) && !route.version)
      throw new ConnectError(`route ${route.alias} not found`, Code.NotFound);
    if (!["retrieval@v3", "retrieval@v4"].includes(version))
      throw new ConnectError(`version ${version} not found`, Code.NotFound);
    return { alias: route.alias, retrieval: version, embedder: EMBEDDER, generator };
  },
  async list() {
    const base = { embedder: EMBEDDER, generator: "generator@v1", generatorModel: "extractive" };
    return [
      create(ModelRouteSchema, { ...base, alias: "prod", retrieval: "retrieval@v3", weight: 1 }),
      create(ModelRouteSchema, {
        ...base,
        alias: "canary",
        retrieval: "retrieval@v4",
        weight: 0.1,
      }),
    ];
  },
};

/** Answers by the question: `slow` waits on `gate` after its first delta; others are refusals. */
export const calls: AnswerRequest[] = [];
export let gate: { open: () => void; opened: Promise<void> };
const newGate = () => {
  let open = () => {};
  const opened = new Promise<void>((r) => {
    open = r;
  });
  gate = { open, opened };
};
export const ANSWER = ["The northern region ", "grew [1]. ", "Costs fell [2]."];

const done = (finishReason = "stop") =>
  create(ChatDoneSchema, {
    citations: [
      {
        number: 1,
        chunkId: "c1",
        documentId: "d1",
        source: "crm",
        title: "Q1",
        text: "t",
        score: 1,
      },
      {
        number: 2,
        chunkId: "c2",
        documentId: "d2",
        source: "crm",
        title: "Q2",
        text: "u",
        score: 0.5,
      },
    ],
    usage: { promptTokens: 40, completionTokens: 9, totalTokens: 49 },
    versions: {
      retrieval: "retrieval@v3",
      alias: "prod",
      embedder: EMBEDDER,
      generator: "generator@v1",
      generatorModel: "extractive",
    },
    guard: { inputAction: "allow", outputAction: "allow", withheldChunkIds: ["c9"] },
    interactionId: "int-123",
    traceId: "trace-9",
    finishReason,
    overheadMs: 0.25,
  });

const orchestrator: Orchestrator = {
  async *answer(req): AsyncGenerator<AnswerEvent, void, void> {
    calls.push(req);
    await routes.resolve(req.caller.tenant, req.route);
    if (req.question === "blocked") throw new ConnectError("input blocked", Code.PermissionDenied);
    if (req.question === "explode") throw new Error("secret internals");
    if (req.question === "bad route")
      throw new ConnectError(
        "route.version: must be an exact retrieval@v<n>",
        Code.InvalidArgument,
      );
    const [first, ...rest] = ANSWER;
    yield { type: "delta", text: first ?? "" };
    if (req.question === "slow") {
      await Promise.race([
        gate.opened,
        new Promise((r) => req.signal?.addEventListener("abort", r, { once: true })),
      ]);
      if (req.signal?.aborted) return;
    }
    if (req.question === "fail midway") throw new ConnectError("guard down", Code.Unavailable);
    for (const text of rest) yield { type: "delta", text };
    yield { type: "done", result: done(req.question === "filtered" ? "guard" : "stop") };
  },
};

const embedTransport = createRouterTransport((router) => {
  router.service(ModelService, {
    embed(req) {
      const values = new Float32Array(req.texts.length * DIMS);
      req.texts.forEach((t, i) => {
        for (let d = 0; d < DIMS; d++) values[i * DIMS + d] = t.length + d / 10;
      });
      return {
        model: req.model,
        version: req.version,
        dimensions: DIMS,
        vectors: new Uint8Array(values.buffer),
        tokenCounts: req.texts.map((t) => t.split(" ").length),
      };
    },
  });
});

const ctx = {
  config: { readMaxBytes: READ_MAX, maxQuestionChars: 2000, maxK: 50 },
  logger: createLogger("openai-test", "silent"),
  models: createClient(ModelService, embedTransport),
} as unknown as GatewayContext;

/**
 * Starts a RpcServer with the handler as its fallback for the calling test file, and resets
 * what the fakes recorded before each test.
 */
export function useOpenAiServer() {
  let server: RpcServer;
  let base = "";
  beforeAll(async () => {
    server = new RpcServer({
      host: "127.0.0.1",
      port: 0,
      services: [GatewayService],
      logger: ctx.logger,
      readMaxBytes: READ_MAX,
      routes: () => {},
      fallback: createOpenAiHandler({ authenticator, limiter, orchestrator, routes, ctx }),
    });
    base = `http://127.0.0.1:${await server.listen()}`;
  });
  afterAll(() => server.close(100));
  beforeEach(() => {
    calls.length = 0;
    held.length = 0;
    seenAuthorization.length = 0;
    newGate();
  });
  return {
    base: () => base,
    client: (apiKey = KEY) => new OpenAI({ apiKey, baseURL: `${base}/v1`, maxRetries: 0 }),
    post: (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json", ...headers },
        body,
      }),
  };
}

export const errorOf = async (r: Response) =>
  (
    (await r.json()) as {
      error: { message: string; type: string; param: string | null; code: string | null };
    }
  ).error;

export const chatBody = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ model: "tailor", messages: [{ role: "user", content: "hi" }], ...over });
