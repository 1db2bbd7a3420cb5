import { Bus } from "@tailor/bus";
import { Database, type Insertable } from "@tailor/db";
import { loadGazetteer } from "@tailor/guard";
import { OutboxRelay } from "@tailor/outbox";
import { createLogger, type Logger } from "@tailor/telemetry";
import type { GuardConfig } from "./config.js";
import { migrations } from "./db/migrations.js";
import type { GuardDB, OutboxTable } from "./db/schema.js";
import { TenantGuards } from "./tenant-guards.js";

/** Everything the guard works with, wired explicitly. */
export interface GuardContext {
  config: GuardConfig;
  logger: Logger;
  database: Database<GuardDB>;
  bus: Bus;
  guards: TenantGuards;
  relay: OutboxRelay;
  /** Writes audit rows to the outbox and wakes the relay. */
  audit(rows: Insertable<OutboxTable>[]): Promise<void>;
}

export async function createContext(
  config: GuardConfig,
  overrides: Partial<Pick<GuardContext, "logger">> = {},
): Promise<GuardContext> {
  const logger = overrides.logger ?? createLogger("guard");
  const database = new Database<GuardDB>({
    url: config.databaseUrl,
    schema: "guard",
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
      name: "tailor-guard",
      prefix: config.busPrefix,
      replicas: config.busReplicas,
      logger,
    });
  } catch (err) {
    await database.destroy();
    await bus?.close();
    throw err;
  }
  const relay = new OutboxRelay(database, bus, logger, { ...config.outbox, service: "guard" });
  const guards = new TenantGuards(database, await loadGazetteer(), config.policyCacheMs);
  const audit = async (rows: Insertable<OutboxTable>[]) => {
    if (rows.length === 0) return;
    await database.db.insertInto("outbox").values(rows).execute();
    relay.notify();
  };
  return { config, logger, database, bus, guards, relay, audit };
}
