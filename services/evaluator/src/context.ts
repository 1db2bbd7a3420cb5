import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Bus } from "@tailor/bus";
import { Database } from "@tailor/db";
import { OutboxRelay } from "@tailor/outbox";
import { RegistryService, RetrievalService } from "@tailor/proto";
import { createLogger, type Logger } from "@tailor/telemetry";
import type { EvaluatorConfig } from "./config.js";
import { migrations } from "./db/migrations.js";
import type { EvaluatorDB } from "./db/schema.js";

/** Everything the evaluator works with, wired explicitly. */
export interface EvaluatorContext {
  config: EvaluatorConfig;
  logger: Logger;
  database: Database<EvaluatorDB>;
  bus: Bus;
  relay: OutboxRelay;
  registry: Client<typeof RegistryService>;
  retrieval: Client<typeof RetrievalService>;
}

export interface ContextOverrides {
  logger?: Logger;
  /** Transports to the registry and retrieval (tests: in-memory routers). */
  registryTransport?: Transport;
  retrievalTransport?: Transport;
}

export async function createContext(
  config: EvaluatorConfig,
  overrides: ContextOverrides = {},
): Promise<EvaluatorContext> {
  const logger = overrides.logger ?? createLogger("evaluator");
  const database = new Database<EvaluatorDB>({
    url: config.databaseUrl,
    schema: "evaluator",
    migrations,
    poolSize: config.dbPoolSize,
    logger,
  });
  let bus: Bus | undefined;
  try {
    await database.migrate();
    bus = await Bus.connect({
      url: config.natsUrl,
      auth: config.natsAuth,
      name: "tailor-evaluator",
      prefix: config.busPrefix,
      replicas: config.busReplicas,
      logger,
    });
  } catch (err) {
    await database.destroy();
    await bus?.close();
    throw err;
  }
  const relay = new OutboxRelay(database, bus, logger, { ...config.outbox, service: "evaluator" });
  const registry = createClient(
    RegistryService,
    overrides.registryTransport ?? createGrpcTransport({ baseUrl: config.registryUrl }),
  );
  const retrieval = createClient(
    RetrievalService,
    overrides.retrievalTransport ?? createGrpcTransport({ baseUrl: config.retrievalUrl }),
  );
  return { config, logger, database, bus, relay, registry, retrieval };
}
