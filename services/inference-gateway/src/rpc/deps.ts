import type { HandlerContext } from "@connectrpc/connect";
import type { GatewayContext } from "../context.js";
import type { RagOrchestrator, TracedAnswerRequest } from "../rag/orchestrator.js";
import type { Stopwatch } from "../rag/stopwatch.js";
import type { AnswerRequest, Authenticator, Caller, Limiter, RouteResolver } from "../types.js";

/** What the GatewayService handlers work with. */
export interface GatewayDeps {
  ctx: GatewayContext;
  authenticator: Authenticator;
  limiter: Limiter;
  orchestrator: RagOrchestrator;
  routes: RouteResolver;
}

/** The header (Ask, Search) or trailer (Chat) that carries the gateway's own time. */
export const OVERHEAD_HEADER = "x-tailor-overhead-ms";

/**
 * The caller, from the key alone (never from the request body), admitted by its rate limit.
 * Every GatewayService call starts here.
 */
export async function authorize(
  d: GatewayDeps,
  hc: HandlerContext,
  sw: Stopwatch,
): Promise<Caller> {
  const caller = await sw.wait(
    () => d.authenticator.authenticate(hc.requestHeader.get("authorization")),
    "auth",
  );
  await sw.wait(() => d.limiter.admit(caller), "rate_limit");
  return caller;
}

/** The fields Ask and Chat share (GatewayService's route, k, sources, metadata, max_tokens). */
interface AnswerFields {
  route?: { alias: string; version: string; routingKey: string };
  k: number;
  sources: readonly string[];
  metadata: Readonly<Record<string, string>>;
  maxTokens: number;
}

/** What the orchestrator answers for an Ask or a Chat turn. */
export function answerInput(
  caller: Caller,
  clock: Stopwatch,
  hc: HandlerContext,
  req: AnswerFields,
  turn: Pick<AnswerRequest, "api" | "question" | "history">,
): TracedAnswerRequest {
  return {
    caller,
    ...turn,
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
  };
}

/** The caller's W3C traceparent, when it sent one. */
function traceparentOf(hc: HandlerContext): { traceparent?: string } {
  const t = hc.requestHeader.get("traceparent");
  return t ? { traceparent: t } : {};
}
