import { EvaluatorService } from "@tailor/proto";
import { RpcServer, type Service } from "@tailor/service";
import type { EvaluatorConfig } from "./config.js";
import { type ContextOverrides, createContext, type EvaluatorContext } from "./context.js";
import { createFeedbackConsumer, handleFeedback } from "./feedback-consumer.js";
import { createModelConsumer, handleModelTrained } from "./model-consumer.js";
import { compare } from "./rpc/compare.js";
import { deleteEvalSet } from "./rpc/delete-eval-set.js";
import { evaluate } from "./rpc/evaluate.js";
import { getEvalSet } from "./rpc/get-eval-set.js";
import { getReport } from "./rpc/get-report.js";
import { importJsonl } from "./rpc/import-jsonl.js";
import { importTrec } from "./rpc/import-trec.js";
import { listEvalSets } from "./rpc/list-eval-sets.js";
import { listReports } from "./rpc/list-reports.js";
import { setThresholds } from "./rpc/set-thresholds.js";
import { Scheduler } from "./scheduler.js";

export interface EvaluatorServiceHandle extends Service {
  readonly ctx: EvaluatorContext;
  readonly port: number;
  readonly scheduler: Scheduler;
}

/** Imports beyond the input limit are refused by the transport before they are read. */
const REQUEST_HEADROOM = 1024 * 1024;

/** Builds the evaluator: EvaluatorService RPCs, model/feedback consumers, schedule, outbox relay. */
export async function create(
  config: EvaluatorConfig,
  overrides: ContextOverrides = {},
): Promise<EvaluatorServiceHandle> {
  const ctx = await createContext(config, overrides);
  const models = createModelConsumer(ctx);
  const feedback = createFeedbackConsumer(ctx);
  const scheduler = new Scheduler(ctx);
  // Cancels comparisons in flight on shutdown; their messages come back to another replica.
  const stopping = new AbortController();
  const server = new RpcServer({
    host: config.host,
    port: config.port,
    services: [EvaluatorService],
    logger: ctx.logger,
    // Events that cannot leave the outbox mean regressions nobody hears of: say so in health.
    readiness: [ctx.relay],
    // topics + qrels may each be up to the limit.
    readMaxBytes: 2 * config.limits.maxInputBytes + REQUEST_HEADROOM,
    routes: (router) =>
      router.service(EvaluatorService, {
        importTrec: (req) => importTrec(ctx, req),
        importJsonl: (req) => importJsonl(ctx, req),
        getEvalSet: (req) => getEvalSet(ctx, req),
        listEvalSets: (req) => listEvalSets(ctx, req),
        deleteEvalSet: (req) => deleteEvalSet(ctx, req),
        evaluate: (req, c) => evaluate(ctx, req, c.signal),
        compare: (req, c) => compare(ctx, req, c.signal),
        getReport: (req) => getReport(ctx, req),
        listReports: (req) => listReports(ctx, req),
        setThresholds: (req) => setThresholds(ctx, req),
      }),
  });
  let destroyed: Promise<void> | undefined;
  return {
    ctx,
    scheduler,
    get port() {
      return server.port;
    },
    async start() {
      ctx.relay.start();
      await models.start((m) => handleModelTrained(ctx, m, stopping.signal));
      await feedback.start((m) => handleFeedback(ctx, m));
      scheduler.start();
      const port = await server.listen();
      ctx.logger.info({ port }, "evaluator listening (connect, grpc, grpc-web)");
    },
    destroy() {
      destroyed ??= (async () => {
        await server.close();
        stopping.abort();
        await scheduler.stop();
        await models.stop();
        await feedback.stop();
        await ctx.relay.stop();
        await ctx.relay.drain().catch(() => {});
        await ctx.bus.close();
        await ctx.database.destroy();
      })();
      return destroyed;
    },
  };
}
