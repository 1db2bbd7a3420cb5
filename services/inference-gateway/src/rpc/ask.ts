import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import {
  type AskRequest,
  type AskResponse,
  AskResponseSchema,
  type ChatDone,
} from "@tailor/proto/gateway";
import { Stopwatch } from "../rag/stopwatch.js";
import { authorize, type GatewayDeps, OVERHEAD_HEADER, traceparentOf } from "./deps.js";

/** A grounded answer to one question. */
export async function ask(
  d: GatewayDeps,
  req: AskRequest,
  hc: HandlerContext,
): Promise<AskResponse> {
  const clock = new Stopwatch();
  const caller = await authorize(d, hc, clock);
  let answer = "";
  let done: ChatDone | undefined;
  for await (const e of d.orchestrator.answer({
    caller,
    api: "ask",
    question: req.question,
    history: [],
    route: {
      alias: req.route?.alias ?? "",
      version: req.route?.version ?? "",
      routingKey: req.route?.routingKey ?? "",
    },
    k: req.k,
    sources: req.sources,
    metadata: req.metadata,
    maxTokens: req.maxTokens,
    signal: hc.signal,
    clock,
    ...traceparentOf(hc),
  })) {
    if (e.type === "delta") answer += e.text;
    else done = e.result;
  }
  if (!done) throw new Error("the orchestrator ended without an answer");
  hc.responseHeader.set(OVERHEAD_HEADER, clock.overheadMs.toFixed(3));
  hc.responseHeader.set("server-timing", clock.serverTiming());
  return create(AskResponseSchema, {
    answer,
    citations: done.citations,
    ...(done.usage && { usage: done.usage }),
    ...(done.versions && { versions: done.versions }),
    ...(done.guard && { guard: done.guard }),
    interactionId: done.interactionId,
    traceId: done.traceId,
    finishReason: done.finishReason,
  });
}
