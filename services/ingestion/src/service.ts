import { IngestionService } from "@tailor/proto";
import { RpcServer, type Service } from "@tailor/service";
import type { IngestionConfig } from "./config.js";
import { createContext, type IngestionContext } from "./context.js";
import { createDataConsumer, startDataConsumer } from "./data-consumer.js";
import { deleteDocument } from "./rpc/delete-document.js";
import { getDocument } from "./rpc/get-document.js";
import { ingestDocuments } from "./rpc/ingest-documents.js";
import { listChunks } from "./rpc/list-chunks.js";
import { listDocuments } from "./rpc/list-documents.js";

export interface IngestionServiceHandle extends Service {
  readonly ctx: IngestionContext;
  readonly port: number;
}

/** Builds the ingestion service: data consumer, outbox relay and the IngestionService RPCs. */
export async function create(
  config: IngestionConfig,
  overrides: Parameters<typeof createContext>[1] = {},
): Promise<IngestionServiceHandle> {
  const ctx = await createContext(config, overrides);
  const consumer = createDataConsumer(ctx);
  const server = new RpcServer({
    host: config.host,
    port: config.port,
    services: [IngestionService],
    logger: ctx.logger,
    // A relay that cannot publish means accepted documents never become searchable: say so in
    // health, so a load balancer or operator sees it (the relay logs why).
    readiness: [ctx.relay],
    routes: (router) =>
      router.service(IngestionService, {
        ingestDocuments: (req) => ingestDocuments(ctx, req),
        deleteDocument: (req) => deleteDocument(ctx, req),
        getDocument: (req) => getDocument(ctx, req),
        listDocuments: (req) => listDocuments(ctx, req),
        listChunks: (req, call) => listChunks(ctx, req, call.signal),
      }),
  });
  let destroyed: Promise<void> | undefined;
  return {
    ctx,
    get port() {
      return server.port;
    },
    async start() {
      ctx.relay.start();
      await startDataConsumer(ctx, consumer);
      const port = await server.listen();
      ctx.logger.info({ port }, "ingestion listening (connect, grpc, grpc-web)");
    },
    destroy() {
      destroyed ??= (async () => {
        await server.close();
        await consumer.stop();
        await ctx.relay.stop();
        await ctx.relay.drain().catch(() => {});
        await ctx.bus.close();
        await ctx.database.destroy();
      })();
      return destroyed;
    },
  };
}
