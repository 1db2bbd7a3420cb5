import { ObjectStoreArtifactStore, openArtifactBucket } from "@tailor/artifacts";
import { ModelEventFollower } from "@tailor/bus";
import { GuardService } from "@tailor/proto";
import { RpcServer, type Service } from "@tailor/service";
import { ChunkConsumer } from "./chunk-consumer.js";
import type { GuardConfig } from "./config.js";
import { createContext, type GuardContext } from "./context.js";
import { checkInput } from "./rpc/check-input.js";
import { checkOutput } from "./rpc/check-output.js";
import { getChunkVerdicts } from "./rpc/get-chunk-verdicts.js";
import { getPolicy, setPolicy } from "./rpc/policy.js";
import { redactText } from "./rpc/redact.js";
import { scan } from "./rpc/scan.js";

/**
 * A text may be 1 MB (larger ones must still reach validation to be refused by name), and a
 * Scan batch carries many: 16 MB bounds what one request can make the server hold.
 */
const READ_MAX_BYTES = 16 * 1024 * 1024;

export interface GuardServiceHandle extends Service {
  readonly ctx: GuardContext;
  readonly port: number;
  readonly chunks: ChunkConsumer;
}

/** Builds the guard: GuardService RPCs, the chunk consumer and the audit outbox relay. */
export async function create(
  config: GuardConfig,
  overrides: Parameters<typeof createContext>[1] = {},
): Promise<GuardServiceHandle> {
  const ctx = await createContext(config, overrides);
  const chunks = new ChunkConsumer(ctx, ctx.bus);
  const follower = new ModelEventFollower(ctx.bus, ctx.classifiers, ctx.logger, "guard classifier");
  const server = new RpcServer({
    host: config.host,
    port: config.port,
    services: [GuardService],
    logger: ctx.logger,
    // Violations that never reach the bus leave no audit trail: say so in health.
    readiness: [ctx.relay],
    readMaxBytes: READ_MAX_BYTES,
    routes: (router) =>
      router.service(GuardService, {
        checkInput: (req) => checkInput(ctx, req),
        checkOutput: (req) => checkOutput(ctx, req),
        redact: (req) => redactText(ctx, req),
        scan: (req) => scan(ctx, req),
        getChunkVerdicts: (req) => getChunkVerdicts(ctx, req),
        getPolicy: (req) => getPolicy(ctx, req),
        setPolicy: (req) => setPolicy(ctx, req),
      }),
  });
  let destroyed: Promise<void> | undefined;
  return {
    ctx,
    chunks,
    get port() {
      return server.port;
    },
    async start() {
      ctx.relay.start();
      const { bucket, modelDir } = config.artifacts;
      if (bucket)
        ctx.artifacts.store = new ObjectStoreArtifactStore(
          await openArtifactBucket(ctx.bus.js, bucket),
          modelDir,
        );
      await follower.start();
      await chunks.start();
      const port = await server.listen();
      ctx.logger.info({ port }, "guard listening (connect, grpc, grpc-web)");
    },
    destroy() {
      destroyed ??= (async () => {
        await server.close();
        await chunks.stop();
        await follower.stop();
        await ctx.relay.stop();
        await ctx.relay.drain().catch(() => {});
        await ctx.bus.close();
        await ctx.database.destroy();
      })();
      return destroyed;
    },
  };
}
