import { create } from "@bufbuild/protobuf";
import { type CallOptions, Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import {
  type SearchRequest,
  type SearchResponse,
  SearchResponseSchema,
} from "@tailor/proto/gateway";
import { call } from "../rag/downstream.js";
import {
  checkK,
  checkMetadata,
  checkQuestion,
  checkRoute,
  checkSources,
  retrievalQuery,
} from "../rag/fields.js";
import { actionName, blockReasons } from "../rag/output.js";
import { isWithheld, shownText } from "../rag/passages.js";
import { Stopwatch } from "../rag/stopwatch.js";
import { traceOf } from "../rag/trace.js";
import { authorize, type GatewayDeps, OVERHEAD_HEADER } from "./deps.js";

/** The passages retrieval finds for the caller's tenant, without generation. */
export async function search(
  d: GatewayDeps,
  req: SearchRequest,
  hc: HandlerContext,
): Promise<SearchResponse> {
  const clock = new Stopwatch();
  const caller = await authorize(d, hc, clock);
  const { ctx } = d;
  const tenant = caller.tenant;
  checkQuestion("query", req.query, ctx.config);
  const route = checkRoute({
    alias: req.route?.alias ?? "",
    version: req.route?.version ?? "",
    routingKey: req.route?.routingKey ?? "",
  });
  const k = checkK(req.k, ctx.config);
  checkSources(req.sources);
  checkMetadata(req.metadata);
  const trace = traceOf(hc.requestHeader.get("traceparent"));
  const opts: CallOptions = {
    signal: hc.signal,
    timeoutMs: 30_000,
    headers: { traceparent: trace.traceparent },
  };
  const [resolved, input] = await clock.wait(() =>
    Promise.all([
      d.routes.resolve(tenant, route),
      call("guard", ctx.logger, ctx.guard.checkInput({ tenant, text: req.query }, opts)),
    ]),
  );
  if (!input.verdict || actionName(input.verdict.action) === "block")
    throw new ConnectError(
      `query: refused by the guard (${blockReasons(input.verdict)})`,
      Code.PermissionDenied,
    );
  const query = input.verdict.text || req.query;
  const found = await clock.wait(() =>
    call(
      "retrieval",
      ctx.logger,
      ctx.retrieval.search(
        {
          tenant,
          query: retrievalQuery(query),
          k,
          sources: req.sources,
          metadata: req.metadata,
          version: resolved.retrieval,
          routingKey: route.routingKey,
        },
        opts,
      ),
    ),
  );
  const verdicts =
    found.hits.length === 0
      ? []
      : await clock.wait(() =>
          ctx.chunkVerdicts.get(
            tenant,
            found.hits.map((h) => h.chunkId),
            opts,
          ),
        );
  const byId = new Map(verdicts.map((v) => [v.chunkId, v]));
  const response = create(SearchResponseSchema, {
    hits: found.hits.map((h) => {
      const v = byId.get(h.chunkId);
      return {
        chunkId: h.chunkId,
        documentId: h.documentId,
        source: h.source,
        title: h.title,
        text: shownText(h.text, v),
        score: h.score,
        flagged: isWithheld(v),
      };
    }),
    versions: {
      retrieval: found.version || resolved.retrieval,
      alias: resolved.alias,
      embedder: found.modelVersion || resolved.embedder,
    },
    traceId: trace.traceId,
  });
  hc.responseHeader.set(OVERHEAD_HEADER, clock.overheadMs.toFixed(3));
  return response;
}
