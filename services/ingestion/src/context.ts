import { Bus, type ClaimStore } from "@tailor/bus";
import { Database } from "@tailor/db";
import { createLogger, type Logger } from "@tailor/telemetry";
import type { IngestionConfig } from "./config.js";
import { migrations } from "./db/migrations.js";
import type { IngestionDB } from "./db/schema.js";
import { DocumentStore } from "./document-store.js";
import { OutboxRelay } from "./outbox-relay.js";

/** Everything the ingestion service works with, wired explicitly. */
export interface IngestionContext {
  config: IngestionConfig;
  logger: Logger;
  database: Database<IngestionDB>;
  bus: Bus;
  store: DocumentStore;
  relay: OutboxRelay;
  claims: () => Promise<ClaimStore>;
}

export async function createContext(
  config: IngestionConfig,
  overrides: Partial<Pick<IngestionContext, "logger">> = {},
): Promise<IngestionContext> {
  const logger = overrides.logger ?? createLogger("ingestion");
  const database = new Database<IngestionDB>({
    url: config.databaseUrl,
    schema: "ingestion",
    migrations,
    poolSize: config.dbPoolSize,
    logger,
  });
  let bus: Bus | undefined;
  try {
    await database.migrate();
    bus = await Bus.connect({
      url: config.natsUrl,
      name: "tailor-ingestion",
      prefix: config.busPrefix,
      replicas: config.busReplicas,
      logger,
    });
  } catch (err) {
    await database.destroy();
    await bus?.close();
    throw err;
  }
  const relay = new OutboxRelay(database, bus, logger);
  const store = new DocumentStore(database, {
    chunk: config.chunk,
    subjects: bus.subjects,
    onOutbox: () => relay.notify(),
  });
  const b = bus;
  return { config, logger, database, bus, store, relay, claims: () => b.claimStore() };
}
