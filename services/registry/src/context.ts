import { Bus } from "@tailor/bus";
import { Database } from "@tailor/db";
import { OutboxRelay } from "@tailor/outbox";
import { createLogger, type Logger } from "@tailor/telemetry";
import type { RegistryConfig } from "./config.js";
import { migrations } from "./db/migrations.js";
import type { RegistryDB } from "./db/schema.js";
import { RegistryStore } from "./store.js";

/** Everything the registry works with, wired explicitly. */
export interface RegistryContext {
  config: RegistryConfig;
  logger: Logger;
  database: Database<RegistryDB>;
  bus: Bus;
  store: RegistryStore;
  relay: OutboxRelay;
}

export async function createContext(
  config: RegistryConfig,
  overrides: Partial<Pick<RegistryContext, "logger">> = {},
): Promise<RegistryContext> {
  const logger = overrides.logger ?? createLogger("registry");
  const database = new Database<RegistryDB>({
    url: config.databaseUrl,
    schema: "registry",
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
      name: "tailor-registry",
      prefix: config.busPrefix,
      replicas: config.busReplicas,
      logger,
    });
  } catch (err) {
    await database.destroy();
    await bus?.close();
    throw err;
  }
  const relay = new OutboxRelay(database, bus, logger, { ...config.outbox, service: "registry" });
  const store = new RegistryStore(database, {
    subjects: bus.subjects,
    onOutbox: () => relay.notify(),
  });
  return { config, logger, database, bus, store, relay };
}
