import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Bus } from "@tailor/bus";
import { Database } from "@tailor/db";
import { OutboxRelay } from "@tailor/outbox";
import { createLogger, type Logger } from "@tailor/telemetry";
import type { TrainerConfig } from "./config.js";
import { GrpcRemote, type Remote } from "./data/remote.js";
import { migrations } from "./db/migrations.js";
import type { TrainerDB } from "./db/schema.js";
import { JobStore } from "./jobs/job-store.js";

/** Everything the trainer works with, wired explicitly. */
export interface TrainerContext {
  config: TrainerConfig;
  logger: Logger;
  database: Database<TrainerDB>;
  bus: Bus;
  store: JobStore;
  relay: OutboxRelay;
  remote: Remote;
  /** This process's name in job leases. */
  owner: string;
  /** Tells the job runner a job was queued (set by the service once the runner exists). */
  wake: () => void;
}

export interface ContextOverrides {
  logger?: Logger;
  /** Stand-ins for the other services (tests). */
  remote?: Remote;
  owner?: string;
}

export async function createContext(
  config: TrainerConfig,
  overrides: ContextOverrides = {},
): Promise<TrainerContext> {
  const logger = overrides.logger ?? createLogger("trainer");
  const database = new Database<TrainerDB>({
    url: config.databaseUrl,
    schema: "trainer",
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
      name: "tailor-trainer",
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
    service: "trainer",
    maxAttempts: 5,
    stallMs: 30_000,
  });
  const store = new JobStore(database, bus.subjects, () => relay.notify());
  const remote =
    overrides.remote ??
    new GrpcRemote({
      urls: config.urls,
      modelDir: config.modelDir,
      adminToken: config.modelServerAdminToken,
      logger,
    });
  const owner = overrides.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  return { config, logger, database, bus, store, relay, remote, owner, wake: () => {} };
}
