import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type ArtifactStore, LocalArtifactStore } from "@tailor/artifacts";
import { Bus } from "@tailor/bus";
import { Database, type Insertable } from "@tailor/db";
import { loadGazetteer } from "@tailor/guard";
import { OutboxRelay } from "@tailor/outbox";
import { RegistryService } from "@tailor/proto";
import { createLogger, type Logger } from "@tailor/telemetry";
import { TenantClassifiers } from "./classifier.js";
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
  /** Each tenant's trained injection classifier (prod `guard` version), when it has one. */
  classifiers: TenantClassifiers;
  /** Where classifiers are read from; the service swaps in the bucket store at start. */
  artifacts: { store: ArtifactStore };
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
  const artifacts = { store: new LocalArtifactStore(config.artifacts.modelDir) as ArtifactStore };
  const classifiers = new TenantClassifiers({
    registry: createClient(RegistryService, createGrpcTransport({ baseUrl: config.registryUrl })),
    store: () => artifacts.store,
    logger,
    ...config.classifier,
  });
  const guards = new TenantGuards(
    database,
    await loadGazetteer(),
    config.policyCacheMs,
    classifiers,
  );
  const audit = async (rows: Insertable<OutboxTable>[]) => {
    if (rows.length === 0) return;
    await database.db.insertInto("outbox").values(rows).execute();
    relay.notify();
  };
  return { config, logger, database, bus, guards, classifiers, artifacts, relay, audit };
}
