import { defaultPorts, env, parseEnv, parseSharedConfig, type SharedConfig } from "@tailor/config";

export interface RegistryConfig extends SharedConfig {
  port: number;
  outbox: {
    /** Publishes a row may fail on its own (not with the whole round) before it is dead-lettered. */
    maxAttempts: number;
    /** After this long without progress the service reports NOT_SERVING. */
    stallMs: number;
  };
  dbPoolSize: number;
}

export function parseRegistryConfig(e: NodeJS.ProcessEnv): RegistryConfig {
  const v = parseEnv(
    {
      TAILOR_REGISTRY_PORT: env.port(defaultPorts.registry),
      TAILOR_REGISTRY_OUTBOX_MAX_ATTEMPTS: env.int(5, 1, 1000),
      TAILOR_REGISTRY_OUTBOX_STALL_MS: env.int(30_000, 100, 3_600_000),
      TAILOR_REGISTRY_DB_POOL: env.int(10, 1, 200),
    },
    e,
  );
  return {
    ...parseSharedConfig(e, "TAILOR_REGISTRY"),
    port: v.TAILOR_REGISTRY_PORT,
    outbox: {
      maxAttempts: v.TAILOR_REGISTRY_OUTBOX_MAX_ATTEMPTS,
      stallMs: v.TAILOR_REGISTRY_OUTBOX_STALL_MS,
    },
    dbPoolSize: v.TAILOR_REGISTRY_DB_POOL,
  };
}
