import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { type CallOptions, Code, ConnectError } from "@connectrpc/connect";
import { type ChatDone, ChatDoneSchema } from "@tailor/proto/gateway";
import type { GatewayContext } from "../context.js";
import { effectiveMaxTokens } from "../generators/prompt.js";
import type {
  AnswerEvent,
  AnswerRequest,
  GenerationResult,
  Limiter,
  Orchestrator,
  Reservation,
  RouteResolver,
} from "../types.js";
import { call } from "./downstream.js";
import {
  checkHistory,
  checkK,
  checkMaxTokens,
  checkMetadata,
  checkQuestion,
  checkRoute,
  checkSources,
  retrievalQuery,
} from "./fields.js";
import { joinUserTurns, redactTurns } from "./history.js";
import { logInteraction } from "./interactions.js";
import {
  actionName,
  blockReasons,
  type CheckedOutput,
  checkWhole,
  type WindowFindings,
} from "./output.js";
import { citationsOf, citedNumbers, screen } from "./passages.js";
import { Stopwatch } from "./stopwatch.js";
import { traceOf } from "./trace.js";

/** An answer request with what only the transport knows (both optional). */
export type TracedAnswerRequest = AnswerRequest & {
  /** The caller's W3C `traceparent`: its trace id becomes the answer's. */
  traceparent?: string;
  /** Started when the request arrived (auth and limits counted), so overhead covers all of it. */
  clock?: Stopwatch;
};

/**
 * The output check of a streamed answer (output/stream-check.ts's StreamCheck): text goes in as
 * generated and comes out as released, held back by a bounded window so a span the guard
 * redacts or stops is never sent.
 */
export interface StreamOutput {
  /** Takes generated text; resolves to what may be sent now. */
  push(text: string): Promise<string>;
  /** The generator finished: resolves to the rest that may be sent. */
  finish(): Promise<string>;
  /** True once the check stopped the answer (nothing more is sent). */
  readonly stopped: boolean;
  /** Everything released so far, exactly as the client was sent it. */
  readonly sent: string;
  readonly action: CheckedOutput["action"];
  /** What the windows found, for the stream's one audit record. */
  readonly findings: WindowFindings;
}

export type StreamOutputFactory = (
  tenant: string,
  context: readonly string[],
  options: CallOptions,
) => StreamOutput;

export interface OrchestratorOptions {
  ctx: GatewayContext;
  routes: RouteResolver;
  limiter: Limiter;
  /** Hold-back window for streamed answers; without it a streamed answer is checked whole. */
  streamOutput?: StreamOutputFactory;
}

/** Deadline of each downstream call (a generator runs under the request's own signal). */
const CALL_TIMEOUT_MS = 30_000;

/** Rough tokens of a text (4 characters each), for holding budget before usage is known. */
const tokensOf = (chars: number) => Math.ceil(chars / 4);

/**
 * Guard input check → retrieval at the route's version → ingest-time chunk verdicts (flagged
 * chunks withheld) → generation → output check (whole for Ask, through the hold-back window for
 * streams) → citations, versions and usage; every answer is logged with its event in one
 * transaction. Refusals are thrown before the first event.
 */
export class RagOrchestrator implements Orchestrator {
  constructor(private readonly o: OrchestratorOptions) {}

  async *answer(req: TracedAnswerRequest): AsyncGenerator<AnswerEvent, void, void> {
    const { ctx, routes } = this.o;
    const sw = req.clock ?? new Stopwatch();
    const trace = traceOf(req.traceparent);
    const tenant = req.caller.tenant;
    const opts: CallOptions = {
      signal: req.signal,
      timeoutMs: CALL_TIMEOUT_MS,
      headers: { traceparent: trace.traceparent },
    };
    const config = ctx.config;
    const questionField =
      req.api === "ask" ? "question" : `messages[${req.history.length}].content`;
    checkQuestion(questionField, req.question, config);
    checkHistory(req.history, config, (i) => `messages[${i}].content`);
    const k = checkK(req.k, config);
    checkSources(req.sources);
    checkMetadata(req.metadata);
    checkMaxTokens(req.maxTokens);
    checkRoute(req.route);
    const earlier = joinUserTurns(req.history);
    const [route, input, before] = await sw.wait(
      () =>
        Promise.all([
          routes.resolve(tenant, req.route),
          call("guard", ctx.logger, ctx.guard.checkInput({ tenant, text: req.question }, opts)),
          earlier.text
            ? call("guard", ctx.logger, ctx.guard.checkInput({ tenant, text: earlier.text }, opts))
            : undefined,
        ]),
      "route_and_guard_in",
    );
    const inputAction = actionName(input.verdict?.action);
    if (!input.verdict || inputAction === "block")
      throw new ConnectError(
        `${questionField}: refused by the guard (${blockReasons(input.verdict)})`,
        Code.PermissionDenied,
      );
    if (before && (!before.verdict || actionName(before.verdict.action) === "block"))
      throw new ConnectError(
        `messages: an earlier message was refused by the guard (${blockReasons(before.verdict)})`,
        Code.PermissionDenied,
      );
    // Redacted (or unchanged): from here on only the checked question and turns are used or kept.
    const question = input.verdict.text || req.question;
    const history = before?.verdict
      ? redactTurns(req.history, earlier.starts, before.verdict)
      : req.history;
    const search = await sw.wait(
      () =>
        call(
          "retrieval",
          ctx.logger,
          ctx.retrieval.search(
            {
              tenant,
              query: retrievalQuery(question),
              k,
              sources: [...req.sources],
              metadata: { ...req.metadata },
              version: route.retrieval,
              routingKey: req.route.routingKey,
            },
            opts,
          ),
        ),
      "retrieval",
    );
    const verdicts =
      search.hits.length === 0
        ? []
        : await sw.wait(
            () =>
              ctx.chunkVerdicts.get(
                tenant,
                search.hits.map((h) => h.chunkId),
                opts,
              ),
            "chunk_verdicts",
          );
    const screened = screen(search.hits, verdicts);

    const generator = route.generator;
    const maxTokens = effectiveMaxTokens(generator.spec, req.maxTokens);
    const promptEstimate = tokensOf(
      question.length +
        history.reduce((n, t) => n + t.content.length, 0) +
        screened.passages.reduce((n, p) => n + p.text.length, 0),
    );
    const reservation = await sw.wait(
      () => this.o.limiter.reserve(req.caller, promptEstimate + maxTokens),
      "budget",
    );
    let produced = 0;
    let promptTokens = 0;
    let completionTokens = 0;
    let result: GenerationResult | undefined;
    let output: CheckedOutput;
    let answer: string;
    const contextTexts = screened.passages.map((p) => p.text);
    const stream =
      req.api === "ask" ? undefined : this.o.streamOutput?.(tenant, contextTexts, opts);
    let settled: Promise<void> = Promise.resolve();
    const generation = generator.generate({
      question,
      history,
      passages: screened.passages,
      maxTokens,
      ...(req.signal && { signal: req.signal }),
    });
    try {
      if (stream) {
        for (;;) {
          const r = await sw.wait(() => generation.next(), "generate");
          if (r.done) {
            result = r.value;
            break;
          }
          produced += r.value.length;
          const out = await sw.wait(() => stream.push(r.value), "guard_out");
          if (out) yield* this.send(sw, out);
          if (stream.stopped) break;
        }
        const rest = stream.stopped ? "" : await sw.wait(() => stream.finish(), "guard_out");
        if (rest) yield* this.send(sw, rest);
        output = {
          text: stream.sent,
          action: stream.action,
          // Windows are checked overlapping: a count of removed sentences would not be exact.
          unsupportedSentences: 0,
        };
      } else {
        let raw = "";
        for (;;) {
          const r = await sw.wait(() => generation.next(), "generate");
          if (r.done) {
            result = r.value;
            break;
          }
          raw += r.value;
          produced += r.value.length;
        }
        output = await sw.wait(() => checkWhole(ctx, tenant, raw, contextTexts, opts), "guard_out");
        if (req.api !== "ask" && output.text) yield* this.send(sw, output.text);
      }
      answer = output.text;
    } finally {
      // A generator left mid-answer (abort, check stopped it, error) is closed; the budget is
      // settled with what was used either way.
      if (!result)
        await sw.wait(
          () => generation.return(undefined as never).catch(() => undefined),
          "generate",
        );
      // Without the generator's count (it did not finish), what was sent is estimated.
      promptTokens = result?.promptTokens ?? promptEstimate;
      completionTokens = result?.completionTokens ?? tokensOf(produced);
      // Settled while the interaction is logged (awaited together below); settle() never
      // rejects, so on an error path it finishes on its own.
      settled = settle(reservation, promptTokens + completionTokens, ctx);
    }
    const finishReason =
      output.action === "block" || stream?.stopped ? "guard" : (result?.finishReason ?? "stop");
    const interactionId = randomUUID();
    const versions = {
      retrieval: search.version || route.retrieval,
      alias: route.alias,
      embedder: search.modelVersion || route.embedder,
      generator: generator.version,
      generatorModel: generator.model,
    };
    const usage = { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
    const cited = citedNumbers(answer, screened.passages.length);
    await sw.wait(
      () =>
        logInteraction(
          ctx,
          {
            tenant,
            interactionId,
            keyId: req.caller.keyId,
            api: req.api,
            question,
            retrieved: screened.passages.map((p) => ({
              number: p.number,
              chunkId: p.chunkId,
              documentId: p.documentId,
              score: p.score,
              cited: cited.has(p.number),
            })),
            answer,
            retrievalVersion: versions.retrieval,
            embedder: versions.embedder,
            generatorVersion: versions.generator,
            generatorModel: versions.generatorModel,
            alias: versions.alias,
            latencyMs: sw.elapsedMs,
            overheadMs: sw.overheadMs,
            inputAction,
            outputAction: output.action,
            withheldChunkIds: screened.withheld,
            promptTokens: usage.promptTokens,
            completionTokens: usage.completionTokens,
            finishReason,
            traceId: trace.traceId,
            at: new Date().toISOString(),
          },
          stream && output.action !== "allow"
            ? {
                tenant,
                stage: "output",
                action: output.action,
                scores: Object.fromEntries(stream.findings.scores),
                piiTypes: Object.fromEntries(stream.findings.piiTypes),
                policyRules: [...stream.findings.policyRules],
                injectionRules: [...stream.findings.injectionRules],
                // Exactly what the client was sent (the windows' redacted text).
                sentRedacted: output.text,
                interaction: interactionId,
              }
            : undefined,
        ).then(() => settled),
      "log",
    );
    const done: ChatDone = create(ChatDoneSchema, {
      citations: citationsOf(answer, screened),
      usage,
      versions,
      guard: {
        inputAction,
        outputAction: output.action,
        withheldChunkIds: screened.withheld,
        unsupportedSentences: output.unsupportedSentences,
      },
      interactionId,
      traceId: trace.traceId,
      finishReason,
      overheadMs: sw.overheadMs,
    });
    // Ask gets its answer text from the deltas; a whole answer is one delta.
    if (req.api === "ask" && answer) yield { type: "delta", text: answer };
    yield { type: "done", result: done };
  }

  /** One delta to the client; the time it takes the client to ask for more is not overhead. */
  private *send(sw: Stopwatch, text: string): Generator<AnswerEvent, void, void> {
    const resume = sw.pause();
    try {
      yield { type: "delta", text };
    } finally {
      resume();
    }
  }
}

async function settle(r: Reservation, used: number, ctx: GatewayContext): Promise<void> {
  try {
    await r.settle(used);
  } catch (err) {
    ctx.logger.warn({ err }, "token budget not settled");
  }
}

/**
 * The whole answer of a non-streaming API (Ask, chat.completion): its text and its `done`
 * (undefined only if the events ended without one; each API answers that its own way).
 */
export async function collectAnswer(
  events: AsyncGenerator<AnswerEvent, void, void>,
): Promise<{ text: string; done?: ChatDone }> {
  let text = "";
  let done: ChatDone | undefined;
  for await (const e of events) {
    if (e.type === "delta") text += e.text;
    else done = e.result;
  }
  return { text, ...(done && { done }) };
}
