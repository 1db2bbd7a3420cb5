import { Bus, type ClaimStore } from "@tailor/bus";
import { Database } from "@tailor/db";
import { OutboxRelay } from "@tailor/outbox";
import { createLogger, type Logger } from "@tailor/telemetry";
import type { IngestionConfig } from "./config.js";
import { migrations } from "./db/migrations.js";
import type { IngestionDB } from "./db/schema.js";
import type { DocumentLimits } from "./document-rules.js";
import { DocumentStore } from "./document-store.js";

/** Room kept in every event for its headers (CloudEvents attributes, trace context, msg id). */
const EVENT_HEADROOM = 16 * 1024;

/** Everything the ingestion service works with, wired explicitly. */
export interface IngestionContext {
  config: IngestionConfig;
  /** What one document may hold; checked on the bus and the RPC path alike. */
  limits: DocumentLimits;
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
      auth: config.natsAuth,
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
  const relay = new OutboxRelay(database, bus, logger, { ...config.outbox, service: "ingestion" });
  const store = new DocumentStore(database, {
    chunk: config.chunk,
    content: config.content,
    subjects: bus.subjects,
    maxEventBytes: bus.maxPayload - EVENT_HEADROOM,
    onOutbox: () => relay.notify(),
  });
  const b = bus;
  const limits: DocumentLimits = { maxTextBytes: config.maxTextBytes, ...config.limits };
  return { config, limits, logger, database, bus, store, relay, claims: () => b.claimStore() };
}
