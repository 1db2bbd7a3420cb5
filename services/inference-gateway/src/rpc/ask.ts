import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { type AskRequest, type AskResponse, AskResponseSchema } from "@tailor/proto/gateway";
import { collectAnswer } from "../rag/orchestrator.js";
import { Stopwatch } from "../rag/stopwatch.js";
import { answerInput, authorize, type GatewayDeps, OVERHEAD_HEADER } from "./deps.js";

/** A grounded answer to one question. */
export async function ask(
  d: GatewayDeps,
  req: AskRequest,
  hc: HandlerContext,
): Promise<AskResponse> {
  const clock = new Stopwatch();
  const caller = await authorize(d, hc, clock);
  const { text: answer, done } = await collectAnswer(
    d.orchestrator.answer(
      answerInput(caller, clock, hc, req, { api: "ask", question: req.question, history: [] }),
    ),
  );
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
