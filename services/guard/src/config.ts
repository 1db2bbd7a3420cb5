import { defaultPorts, env, parseEnv, parseSharedConfig, type SharedConfig } from "@tailor/config";

export interface GuardConfig extends SharedConfig {
  port: number;
  outbox: {
    /** Publishes a row may fail on its own (not with the whole round) before it is dead-lettered. */
    maxAttempts: number;
    /** After this long without progress the service reports NOT_SERVING. */
    stallMs: number;
  };
  dbPoolSize: number;
  /** Deliveries of a chunk event before it is dead-lettered. */
  maxDeliver: number;
  /** How long a replica trusts its cached copy of a tenant's policy (SetPolicy elsewhere). */
  policyCacheMs: number;
}

export function parseGuardConfig(e: NodeJS.ProcessEnv): GuardConfig {
  const v = parseEnv(
    {
      TAILOR_GUARD_PORT: env.port(defaultPorts.guard),
      TAILOR_GUARD_OUTBOX_MAX_ATTEMPTS: env.int(5, 1, 1000),
      TAILOR_GUARD_OUTBOX_STALL_MS: env.int(30_000, 100, 3_600_000),
      TAILOR_GUARD_DB_POOL: env.int(10, 1, 200),
      TAILOR_GUARD_MAX_DELIVER: env.int(8, 1, 100),
      TAILOR_GUARD_POLICY_CACHE_MS: env.int(5000, 0, 600_000),
    },
    e,
  );
  return {
    ...parseSharedConfig(e, "TAILOR_GUARD"),
    port: v.TAILOR_GUARD_PORT,
    outbox: {
      maxAttempts: v.TAILOR_GUARD_OUTBOX_MAX_ATTEMPTS,
      stallMs: v.TAILOR_GUARD_OUTBOX_STALL_MS,
    },
    dbPoolSize: v.TAILOR_GUARD_DB_POOL,
    maxDeliver: v.TAILOR_GUARD_MAX_DELIVER,
    policyCacheMs: v.TAILOR_GUARD_POLICY_CACHE_MS,
  };
}
