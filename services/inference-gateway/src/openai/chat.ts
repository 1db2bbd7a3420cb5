import { randomUUID } from "node:crypto";
import type http from "node:http";
import type { ChatDone } from "@tailor/proto/gateway";
import type { GatewayContext } from "../context.js";
import { collectAnswer, type TracedAnswerRequest } from "../rag/orchestrator.js";
import type { Stopwatch } from "../rag/stopwatch.js";
import type { AnswerEvent, Caller, Orchestrator } from "../types.js";
import type { ChatCompletionRequest } from "./chat-request.js";
import { OpenAiError, toOpenAiError } from "./errors.js";
import { drained, OVERHEAD_HEADER, type Res, sendJson } from "./http.js";

export interface ChatDeps {
  orchestrator: Orchestrator;
  ctx: Pick<GatewayContext, "logger">;
}

/**
 * The request's clock goes along, so the orchestrator's overhead covers the whole request
 * (auth, parsing); the RAG orchestrator reads `clock` and `traceparent`, others ignore them.
 */
function answerRequest(
  caller: Caller,
  r: ChatCompletionRequest,
  signal: AbortSignal,
  clock: Stopwatch,
  traceparent: string | undefined,
): TracedAnswerRequest {
  return {
    clock,
    ...(traceparent !== undefined && { traceparent }),
    caller,
    api: "openai.chat",
    question: r.question,
    history: r.history,
    route: r.route,
    k: r.tailor.k,
    sources: r.tailor.sources,
    metadata: r.tailor.metadata,
    maxTokens: r.maxTokens,
    signal,
  };
}

/** Aborted when the client goes away before the response is complete. */
function abortOnClose(res: Res): AbortController {
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) abort.abort(new Error("client closed the connection"));
  });
  return abort;
}

/** OpenAI's finish reasons; the guard stopping an answer is a content filter. */
function finishReason(done: ChatDone): "stop" | "length" | "content_filter" {
  if (done.finishReason === "length") return "length";
  if (done.finishReason === "guard") return "content_filter";
  return "stop";
}

function usage(done: ChatDone) {
  const u = done.usage;
  const prompt = u?.promptTokens ?? 0;
  const completion = u?.completionTokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: u?.totalTokens || prompt + completion,
  };
}

/** What Tailor adds to an OpenAI response, in the response's `tailor` field. */
function tailorExtras(done: ChatDone, overheadMs: number) {
  const v = done.versions;
  const g = done.guard;
  return {
    interaction_id: done.interactionId,
    trace_id: done.traceId,
    citations: done.citations.map((c) => ({
      number: c.number,
      chunk_id: c.chunkId,
      document_id: c.documentId,
      source: c.source,
      title: c.title,
      text: c.text,
      score: c.score,
    })),
    versions: {
      retrieval: v?.retrieval ?? "",
      alias: v?.alias ?? "",
      embedder: v?.embedder ?? "",
      generator: v?.generator ?? "",
      generator_model: v?.generatorModel ?? "",
    },
    guard: {
      input_action: g?.inputAction ?? "",
      output_action: g?.outputAction ?? "",
      withheld_chunk_ids: g?.withheldChunkIds ?? [],
      unsupported_sentences: g?.unsupportedSentences ?? 0,
    },
    overhead_ms: round(overheadMs),
  };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
const unixNow = () => Math.floor(Date.now() / 1000);
const noResult = () => new OpenAiError(502, "the answer ended without a result", "server_error");

/** One `chat.completion` with the whole answer. */
export async function completeChat(
  deps: ChatDeps,
  caller: Caller,
  r: ChatCompletionRequest,
  res: Res,
  sw: Stopwatch,
  traceparent: string | undefined,
): Promise<void> {
  const abort = abortOnClose(res);
  const { text, done } = await collectAnswer(
    deps.orchestrator.answer(answerRequest(caller, r, abort.signal, sw, traceparent)),
  );
  if (!done) throw noResult();
  const overheadMs = Math.max(done.overheadMs, sw.overheadMs);
  sendJson(
    res,
    200,
    {
      id: done.interactionId || `chatcmpl-${randomUUID()}`,
      object: "chat.completion",
      created: unixNow(),
      model: done.versions?.retrieval || r.model,
      system_fingerprint: done.versions?.generator || null,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: text, refusal: null },
          logprobs: null,
          finish_reason: finishReason(done),
        },
      ],
      usage: usage(done),
      tailor: tailorExtras(done, overheadMs),
    },
    { [OVERHEAD_HEADER]: round(overheadMs).toFixed(3) },
  );
}

/**
 * `chat.completion.chunk` events over SSE. The first event is awaited before the status is
 * sent, so a refusal (bad route, limits, blocked input) is still an HTTP error; after that each
 * delta is written as it arrives, and a failure becomes an `error` event (OpenAI's shape).
 */
export async function streamChat(
  deps: ChatDeps,
  caller: Caller,
  r: ChatCompletionRequest,
  res: Res,
  sw: Stopwatch,
  traceparent: string | undefined,
): Promise<void> {
  const abort = abortOnClose(res);
  const events = deps.orchestrator.answer(answerRequest(caller, r, abort.signal, sw, traceparent));
  let finished = false;
  try {
    const first = await events.next();
    const id = `chatcmpl-${randomUUID()}`;
    const created = unixNow();
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model: r.model,
      system_fingerprint: null,
      choices,
      ...(r.includeUsage && { usage: null }),
      ...extra,
    });
    const send = async (data: unknown) => {
      if (abort.signal.aborted) return;
      if (!(res as http.ServerResponse).write(`data: ${JSON.stringify(data)}\n\n`)) {
        await drained(res);
      }
    };
    (res as http.ServerResponse).writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      // The gateway's own time, as for Chat: known only at the end (also in the last chunk).
      trailer: OVERHEAD_HEADER,
    });
    if (isHttp1(res))
      (res.socket as { setNoDelay?: (b: boolean) => void } | null)?.setNoDelay?.(true);
    await send(
      chunk([
        {
          index: 0,
          delta: { role: "assistant", content: "" },
          logprobs: null,
          finish_reason: null,
        },
      ]),
    );
    let done: ChatDone | undefined;
    let next: IteratorResult<AnswerEvent, void> = first;
    try {
      while (!next.done && !abort.signal.aborted) {
        const ev = next.value;
        if (ev.type === "done") done = ev.result;
        else if (ev.text !== "") {
          await send(
            chunk([{ index: 0, delta: { content: ev.text }, logprobs: null, finish_reason: null }]),
          );
        }
        next = await events.next();
      }
      if (abort.signal.aborted) return;
      if (!done) throw noResult();
    } catch (err) {
      if (abort.signal.aborted) return;
      const e = toOpenAiError(err);
      if (e.status >= 500 && !(err instanceof OpenAiError)) {
        deps.ctx.logger.error({ err }, "openai chat stream failed after its first event");
      }
      await send({ error: e.body().error });
      res.end();
      finished = true;
      return;
    }
    const overheadMs = Math.max(done.overheadMs, sw.overheadMs);
    await send(
      chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason(done) }], {
        tailor: tailorExtras(done, overheadMs),
      }),
    );
    if (r.includeUsage) await send(chunk([], { usage: usage(done) }));
    (res as http.ServerResponse).addTrailers({ [OVERHEAD_HEADER]: round(overheadMs).toFixed(3) });
    res.end("data: [DONE]\n\n");
    finished = true;
  } finally {
    // A client that left mid-answer: the orchestrator saw the abort; let its generator unwind.
    if (!finished) void events.return(undefined).catch(() => {});
  }
}

/** An HTTP/1.1 response (HTTP/2 frames are not held back by Nagle's algorithm). */
function isHttp1(res: Res): boolean {
  return !("stream" in res);
}
