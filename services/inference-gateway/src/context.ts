import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Bus } from "@tailor/bus";
import { Database, type Insertable } from "@tailor/db";
import { OutboxRelay } from "@tailor/outbox";
import { GuardService, ModelService, RegistryService, RetrievalService } from "@tailor/proto";
import { createLogger, type Logger } from "@tailor/telemetry";
import type { GatewayConfig } from "./config.js";
import { migrations } from "./db/migrations.js";
import type { GatewayDB, OutboxTable } from "./db/schema.js";
import { ChunkVerdicts } from "./rag/chunk-verdicts.js";

/** Everything the gateway works with, wired explicitly. */
export interface GatewayContext {
  config: GatewayConfig;
  logger: Logger;
  database: Database<GatewayDB>;
  bus: Bus;
  relay: OutboxRelay;
  retrieval: Client<typeof RetrievalService>;
  guard: Client<typeof GuardService>;
  registry: Client<typeof RegistryService>;
  models: Client<typeof ModelService>;
  /** The guard's ingest-time verdicts of chunks, cached (a chunk id's text never changes). */
  chunkVerdicts: ChunkVerdicts;
  /** Writes event rows to the outbox (inside `trx` when given) and wakes the relay after. */
  enqueue(rows: Insertable<OutboxTable>[]): Promise<void>;
}

export async function createContext(
  config: GatewayConfig,
  overrides: Partial<Pick<GatewayContext, "logger">> = {},
): Promise<GatewayContext> {
  const logger = overrides.logger ?? createLogger("inference-gateway");
  const database = new Database<GatewayDB>({
    url: config.databaseUrl,
    schema: "gateway",
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
      name: "tailor-inference-gateway",
      prefix: config.busPrefix,
      replicas: config.busReplicas,
      logger,
    });
  } catch (err) {
    await database.destroy();
    await bus?.close();
    throw err;
  }
  const relay = new OutboxRelay(database, bus, logger, {
    ...config.outbox,
    service: "inference-gateway",
  });
  const client = <S extends Parameters<typeof createClient>[0]>(s: S, baseUrl: string) =>
    createClient(s, createGrpcTransport({ baseUrl }));
  const enqueue = async (rows: Insertable<OutboxTable>[]) => {
    if (rows.length === 0) return;
    await database.db.insertInto("outbox").values(rows).execute();
    relay.notify();
  };
  const guard = client(GuardService, config.guardUrl);
  return {
    config,
    logger,
    database,
    bus,
    relay,
    retrieval: client(RetrievalService, config.retrievalUrl),
    guard,
    chunkVerdicts: new ChunkVerdicts(guard, logger),
    registry: client(RegistryService, config.registryUrl),
    models: client(ModelService, config.modelServerUrl),
    enqueue,
  };
}
