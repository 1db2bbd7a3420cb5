import { Secret } from "@tailor/config";
import { Database } from "@tailor/db";
import { createLogger, type Logger } from "@tailor/telemetry";
import { createTestDatabase } from "@tailor/testing";
import type { GatewayConfig } from "../config.js";
import { migrations } from "../db/migrations.js";
import type { GatewayDB } from "../db/schema.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** The parts of a gateway context the auth code uses, on a database of the suite's own. */
export interface AuthTestContext {
  /** The suite database's URL (for a second pool, as another replica has). */
  url: string;
  config: GatewayConfig;
  database: Database<GatewayDB>;
  logger: Logger;
  close(): Promise<void>;
}

export async function authTestContext(
  label: string,
  config: Partial<Pick<GatewayConfig, "keyCacheMs" | "adminToken">> & {
    limits?: Partial<GatewayConfig["limits"]>;
  } = {},
): Promise<AuthTestContext> {
  const db = await createTestDatabase(label);
  const logger = createLogger("inference-gateway", "silent");
  const database = new Database<GatewayDB>({
    url: db.url,
    schema: "gateway",
    migrations,
    poolSize: 20,
    logger,
  });
  await database.migrate();
  const full = {
    keyCacheMs: config.keyCacheMs ?? 5000,
    ...("adminToken" in config
      ? { adminToken: config.adminToken }
      : { adminToken: new Secret(ADMIN_TOKEN) }),
    limits: {
      requestsPerSecond: 50,
      burst: 100,
      tokenBudget: 0,
      budgetPeriod: "month" as const,
      ...config.limits,
    },
  } as GatewayConfig;
  return {
    url: db.url,
    config: full,
    database,
    logger,
    close: async () => {
      await database.destroy();
      await db.drop().catch(() => {});
    },
  };
}
