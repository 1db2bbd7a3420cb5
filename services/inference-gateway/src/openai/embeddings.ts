import { Code, ConnectError } from "@connectrpc/connect";
import type { TextRule } from "@tailor/service";
import type { Logger } from "@tailor/telemetry";
import type { GatewayContext } from "../context.js";
import { downstreamError } from "../rag/downstream.js";
import type { Stopwatch } from "../rag/stopwatch.js";
import type { Caller, Limiter, RouteResolver } from "../types.js";
import { invalidRequest, OpenAiError, toOpenAiError } from "./errors.js";
import {
  array,
  integer,
  type Json,
  model,
  object,
  optional,
  routeOf,
  routingKey,
  string,
} from "./fields.js";
import { overheadHeader, type Res, sendJson } from "./http.js";

/** OpenAI's own limit on inputs per request. */
const MAX_INPUTS = 2048;
/** Texts per model-server call (below its per-call limit). */
const BATCH = 128;
/**
 * Tokens held against the budget per input before embedding: an upper bound for the
 * embedders Tailor serves (they truncate well below it); settled to the real count after.
 */
const RESERVE_PER_INPUT = 512;
const EMBED_TIMEOUT_MS = 30_000;
/** The model-server's longest text (1 Mi characters), as bytes, which bound characters. */
const MAX_INPUT_BYTES = 1024 * 1024;

export interface EmbeddingsRequest {
  model: string;
  inputs: string[];
  base64: boolean;
  dimensions?: number;
  routingKey: string;
}

export function parseEmbeddingsRequest(
  raw: unknown,
  o: { maxBytes: number; routingKeyHeader: string | undefined },
): EmbeddingsRequest {
  const body = object(raw, null);
  const name = model(body);
  const rule: TextRule = {
    maxBytes: Math.min(o.maxBytes, MAX_INPUT_BYTES),
    required: true,
    control: "whitespace",
  };
  const input = body["input"];
  let inputs: string[];
  if (typeof input === "string") inputs = [string(input, "input", rule)];
  else {
    const items = array(input ?? null, "input", MAX_INPUTS);
    if (items.length === 0) throw invalidRequest("input", "must hold at least one text");
    inputs = items.map((t, i) => {
      if (typeof t === "number" || Array.isArray(t)) {
        throw invalidRequest(`input[${i}]`, "token arrays are not supported; send text");
      }
      return string(t, `input[${i}]`, rule);
    });
  }
  const format = optional(body, "encoding_format", (v, f) =>
    string(v, f, { maxBytes: 16, control: "reject" }),
  );
  if (format !== undefined && format !== "float" && format !== "base64") {
    throw invalidRequest("encoding_format", 'must be "float" or "base64"');
  }
  const dimensions = optional(body, "dimensions", (v, f) => integer(v, f, 1, 65_536));
  return {
    model: name,
    inputs,
    base64: format === "base64",
    ...(dimensions !== undefined && { dimensions }),
    routingKey: routingKey(o.routingKeyHeader, body as Json),
  };
}

export interface EmbeddingsDeps {
  routes: RouteResolver;
  limiter: Limiter;
  ctx: GatewayContext;
}

/**
 * The exact embedder (`name@version`) a `model` stands for: a route (`tailor`, `prod`,
 * `canary`, `retrieval@v3`), or an embedder one of the tenant's routes uses (the `model` of an
 * earlier embeddings response).
 */
async function embedderOf(
  deps: EmbeddingsDeps,
  caller: Caller,
  r: EmbeddingsRequest,
  sw: Stopwatch,
): Promise<string> {
  if (r.model.includes("@") && !r.model.startsWith("retrieval@")) {
    const routes = await sw.wait(deps.routes.list(caller.tenant));
    if (routes.some((x) => x.embedder === r.model)) return r.model;
    throw new OpenAiError(
      404,
      `model ${r.model} is neither a route nor the embedder of one of this tenant's routes`,
      "not_found_error",
      "model",
      "model_not_found",
    );
  }
  try {
    return (await sw.wait(deps.routes.resolve(caller.tenant, routeOf(r.model, r.routingKey))))
      .embedder;
  } catch (err) {
    throw toOpenAiError(err, { routeNotFound: true });
  }
}

export async function createEmbeddings(
  deps: EmbeddingsDeps,
  caller: Caller,
  r: EmbeddingsRequest,
  res: Res,
  sw: Stopwatch,
  signal: AbortSignal,
): Promise<void> {
  const embedder = await embedderOf(deps, caller, r, sw);
  const at = embedder.indexOf("@");
  const name = at < 0 ? embedder : embedder.slice(0, at);
  const version = at < 0 ? "" : embedder.slice(at + 1);
  const hold = await sw.wait(deps.limiter.reserve(caller, r.inputs.length * RESERVE_PER_INPUT));
  let tokens = 0;
  let dims = 0;
  const vectors: Float32Array[] = [];
  try {
    for (let i = 0; i < r.inputs.length; i += BATCH) {
      const texts = r.inputs.slice(i, i + BATCH);
      const e = await sw
        .wait(
          deps.ctx.models.embed(
            { model: name, version, texts },
            { signal, timeoutMs: EMBED_TIMEOUT_MS },
          ),
        )
        .catch((err: unknown) => {
          throw modelServerError(err, embedder, deps.ctx.logger);
        });
      dims = e.dimensions;
      if (dims === 0 || e.vectors.byteLength !== texts.length * dims * 4) {
        throw new OpenAiError(
          502,
          "the model-server answered a malformed embedding",
          "server_error",
        );
      }
      // Copied: the bytes need not sit at a float-aligned offset.
      const all = new Float32Array(new Uint8Array(e.vectors).buffer);
      for (let j = 0; j < texts.length; j++) vectors.push(all.subarray(j * dims, (j + 1) * dims));
      for (const n of e.tokenCounts) tokens += n;
    }
  } finally {
    await sw.wait(hold.settle(tokens)).catch(() => {});
  }
  if (r.dimensions !== undefined && r.dimensions !== dims) {
    throw invalidRequest("dimensions", `${embedder} has ${dims} dimensions, not ${r.dimensions}`);
  }
  sendJson(
    res,
    200,
    {
      object: "list",
      data: vectors.map((v, index) => ({
        object: "embedding",
        index,
        embedding: r.base64
          ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64")
          : Array.from(v),
      })),
      model: embedder,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
    overheadHeader(sw),
  );
}

/**
 * The model-server not having the route's embedder is the gateway's problem, not the
 * caller's: UNAVAILABLE rather than a 404 that would read as "no such model". Other failures
 * as for every downstream call (internals stay in the log).
 */
function modelServerError(err: unknown, embedder: string, logger: Logger): unknown {
  if (
    err instanceof ConnectError &&
    (err.code === Code.NotFound || err.code === Code.FailedPrecondition)
  ) {
    return new ConnectError(`embedder ${embedder} is not available`, Code.Unavailable);
  }
  return downstreamError("model-server", err, logger);
}
