import { ID_RULE, type NodeHandler, textProblem } from "@tailor/service";
import type { GatewayContext } from "../context.js";
import { Stopwatch } from "../rag/stopwatch.js";
import type { Authenticator, Caller, Limiter, Orchestrator, RouteResolver } from "../types.js";
import { completeChat, streamChat } from "./chat.js";
import { parseChatRequest } from "./chat-request.js";
import { createEmbeddings, parseEmbeddingsRequest } from "./embeddings.js";
import { invalidRequest, OpenAiError, toOpenAiError } from "./errors.js";
import {
  checkDeclaredLength,
  header,
  parseJson,
  type Req,
  type Res,
  readBytes,
  sendError,
} from "./http.js";
import { listModels, retrieveModel } from "./models.js";

export interface OpenAiDeps {
  authenticator: Authenticator;
  limiter: Limiter;
  orchestrator: Orchestrator;
  routes: RouteResolver;
  ctx: GatewayContext;
}

type Route = "chat" | "embeddings" | "models" | "model";

const ROUTES: { path: RegExp; method: "GET" | "POST"; route: Route }[] = [
  { path: /^\/v1\/chat\/completions$/, method: "POST", route: "chat" },
  { path: /^\/v1\/embeddings$/, method: "POST", route: "embeddings" },
  { path: /^\/v1\/models$/, method: "GET", route: "models" },
  { path: /^\/v1\/models\/([^/]+)$/, method: "GET", route: "model" },
];

/**
 * The OpenAI-compatible HTTP surface (`/v1/chat/completions`, `/v1/embeddings`, `/v1/models`),
 * served beside the RPCs on the gateway's port (RpcServer's `fallback`), so the official
 * `openai` clients work by changing their base URL. Same keys, limits and answers as the RPCs;
 * every refusal is OpenAI's error JSON with the matching HTTP status.
 */
export function createOpenAiHandler(deps: OpenAiDeps): NodeHandler {
  return (req, res) => {
    // A reset mid-upload (after reading stopped, too) must not become an uncaught 'error'.
    req.on("error", () => {});
    handle(deps, req, res).catch((err: unknown) => {
      const e = toOpenAiError(err);
      if (e.status >= 500 && !(err instanceof OpenAiError)) {
        deps.ctx.logger.error({ err, path: pathOf(req) }, "openai request failed");
      }
      try {
        sendError(req, res, e);
      } catch {
        res.destroy?.();
      }
    });
  };
}

function pathOf(req: Req): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return (q < 0 ? url : url.slice(0, q)).slice(0, 200);
}

async function handle(deps: OpenAiDeps, req: Req, res: Res): Promise<void> {
  const sw = new Stopwatch();
  const path = pathOf(req);
  const match = ROUTES.map((r) => ({ r, m: r.path.exec(path) })).filter((x) => x.m);
  if (match.length === 0) {
    throw new OpenAiError(
      404,
      `no such endpoint: ${req.method} ${path} (served: POST /v1/chat/completions, POST /v1/embeddings, GET /v1/models)`,
      "invalid_request_error",
      null,
      "unknown_url",
    );
  }
  const hit = match.find((x) => x.r.method === req.method);
  if (!hit?.m) {
    res.setHeader("allow", match.map((x) => x.r.method).join(", "));
    throw new OpenAiError(
      405,
      `${path} takes ${match[0]?.r.method ?? "GET"}, not ${req.method}`,
      "invalid_request_error",
      null,
      "method_not_allowed",
    );
  }
  const { config } = deps.ctx;
  checkDeclaredLength(req, config.readMaxBytes);
  const caller = await sw.wait(authenticate(deps, req));
  await sw.wait(deps.limiter.admit(caller));
  const routingKeyHeader = header(req, "x-tailor-routing-key");
  switch (hit.r.route) {
    case "chat": {
      const body = await readBody(req, config.readMaxBytes, sw);
      const r = parseChatRequest(body, {
        maxQuestionChars: config.maxQuestionChars,
        maxK: config.maxK,
        routingKeyHeader,
      });
      await answer(deps, caller, r, res, sw, header(req, "traceparent"));
      return;
    }
    case "embeddings": {
      const body = await readBody(req, config.readMaxBytes, sw);
      const r = parseEmbeddingsRequest(body, { maxBytes: config.readMaxBytes, routingKeyHeader });
      const abort = new AbortController();
      res.once("close", () => {
        if (!res.writableFinished) abort.abort();
      });
      await createEmbeddings(deps, caller, r, res, sw, abort.signal);
      return;
    }
    case "models":
      await listModels(deps.routes, caller, res, sw);
      return;
    case "model":
      await retrieveModel(deps.routes, caller, modelId(hit.m[1] ?? ""), res, sw);
      return;
    default: {
      const never: never = hit.r.route;
      throw new Error(`unhandled route ${String(never)}`);
    }
  }
}

async function answer(
  deps: OpenAiDeps,
  caller: Caller,
  r: ReturnType<typeof parseChatRequest>,
  res: Res,
  sw: Stopwatch,
  traceparent: string | undefined,
): Promise<void> {
  try {
    if (r.stream) await streamChat(deps, caller, r, res, sw, traceparent);
    else await completeChat(deps, caller, r, res, sw, traceparent);
  } catch (err) {
    // The orchestrator's NOT_FOUND is the route the request's `model` named.
    throw toOpenAiError(err, { routeNotFound: true });
  }
}

/** The key is checked before the body is read: unauthenticated uploads are not taken in. */
function authenticate(deps: OpenAiDeps, req: Req): Promise<Caller> {
  return deps.authenticator.authenticate(header(req, "authorization") ?? null);
}

/** Reading the body waits on the client, which is not the gateway's own time. */
async function readBody(req: Req, limit: number, sw: Stopwatch): Promise<unknown> {
  return parseJson(await sw.wait(readBytes(req, limit)));
}

function modelId(encoded: string): string {
  let id: string;
  try {
    id = decodeURIComponent(encoded);
  } catch {
    throw invalidRequest("model", "is not a valid URL path segment");
  }
  const problem = textProblem(id, ID_RULE);
  if (problem) throw invalidRequest("model", problem);
  return id;
}
