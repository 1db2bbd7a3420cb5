import { Bus } from "@tailor/bus";
import { EmbedderClient, formatEmbedderRef, resolveEmbedder } from "@tailor/clients";
import { RpcServer, type Service } from "@tailor/service";
import { createLogger, type Logger } from "@tailor/telemetry";
import { ChunkConsumer } from "./chunk-consumer.js";
import type { EmbeddingConfig } from "./config.js";

export interface EmbeddingServiceHandle extends Service {
  readonly port: number;
}

/** Builds the embedding service: chunk events in, embedding events out. */
export async function create(
  config: EmbeddingConfig,
  o: { logger?: Logger } = {},
): Promise<EmbeddingServiceHandle> {
  const logger = o.logger ?? createLogger("embedding");
  const bus = await Bus.connect({
    url: config.natsUrl,
    auth: config.natsAuth,
    name: "tailor-embedding",
    prefix: config.busPrefix,
    replicas: config.busReplicas,
    logger,
  });
  let consumer: ChunkConsumer | undefined;
  const abort = new AbortController();
  // No RPCs of its own yet: the port serves health and reflection for probes.
  const server = new RpcServer({
    host: config.host,
    port: config.port,
    services: [],
    logger,
    routes: () => {},
    // Health and reflection requests are tiny.
    readMaxBytes: 64 * 1024,
  });
  let destroyed: Promise<void> | undefined;
  return {
    get port() {
      return server.port;
    },
    async start() {
      // Resolved once: every vector this process makes is of this exact version, whatever the
      // model-server loads later (a newer version is served by re-embedding, never by drift).
      const ref = await resolveEmbedder(config.modelServerUrl, config.model, logger, abort.signal);
      const embedder = new EmbedderClient(config.modelServerUrl, ref.model, logger, ref.version);
      consumer = new ChunkConsumer(bus, embedder, ref, config, logger);
      await consumer.start();
      await server.listen();
      logger.info(
        { port: server.port, modelServer: config.modelServerUrl, embedder: formatEmbedderRef(ref) },
        "embedding consuming chunk events",
      );
    },
    destroy() {
      destroyed ??= (async () => {
        abort.abort();
        await server.close();
        await consumer?.stop();
        await bus.close();
      })();
      return destroyed;
    },
  };
}
