import { TrainerService } from "@tailor/proto";
import { RpcServer, type Service } from "@tailor/service";
import type { TrainerConfig } from "./config.js";
import { type ContextOverrides, createContext, type TrainerContext } from "./context.js";
import { JobRunner } from "./jobs/runner.js";
import { executeJob } from "./kinds/execute.js";
import { cancelJob, getJob, listJobs } from "./rpc/get-job.js";
import { startTraining } from "./rpc/start-training.js";
import { watchJob } from "./rpc/watch-job.js";
import { createTrainingConsumer, startTrainingConsumer } from "./training-consumer.js";

export interface TrainerServiceHandle extends Service {
  readonly ctx: TrainerContext;
  readonly runner: JobRunner;
  readonly port: number;
}

/** Builds the trainer: TrainerService RPCs, the training.*.requested consumer, the job runner. */
export async function create(
  config: TrainerConfig,
  overrides: ContextOverrides = {},
): Promise<TrainerServiceHandle> {
  const ctx = await createContext(config, overrides);
  const runner = new JobRunner({
    store: ctx.store,
    owner: ctx.owner,
    concurrency: config.concurrency,
    leaseMs: config.lease.expiryMs,
    heartbeatMs: config.lease.heartbeatMs,
    pollMs: config.pollMs,
    progressIntervalMs: config.progressIntervalMs,
    logger: ctx.logger,
    execute: (job, env) => executeJob(ctx, job, env),
  });
  ctx.wake = () => runner.notify();
  const consumer = createTrainingConsumer(ctx);
  const server = new RpcServer({
    host: config.host,
    port: config.port,
    services: [TrainerService],
    logger: ctx.logger,
    // Status events that cannot be published leave watchers of the bus blind: say so in health.
    readiness: [ctx.relay],
    readMaxBytes: 64 * 1024,
    routes: (router) =>
      router.service(TrainerService, {
        startTraining: (req, c) => startTraining(ctx, req, c.signal),
        getJob: (req) => getJob(ctx, req),
        listJobs: (req) => listJobs(ctx, req),
        cancelJob: (req) => cancelJob(ctx, req),
        watchJob: (req, c) => watchJob(ctx, req, c.signal),
      }),
  });
  let destroyed: Promise<void> | undefined;
  return {
    ctx,
    runner,
    get port() {
      return server.port;
    },
    async start() {
      ctx.relay.start();
      await startTrainingConsumer(ctx, consumer);
      runner.start();
      const port = await server.listen();
      ctx.logger.info({ port, owner: ctx.owner }, "trainer listening (connect, grpc, grpc-web)");
    },
    destroy() {
      destroyed ??= (async () => {
        await server.close();
        await consumer.stop();
        await runner.stop();
        await ctx.relay.stop();
        await ctx.relay.drain().catch(() => {});
        await ctx.bus.close();
        await ctx.database.destroy();
      })();
      return destroyed;
    },
  };
}
