import {
  defaultPorts,
  env,
  parseEnv,
  parseSharedConfig,
  type SharedConfig,
  z,
} from "@tailor/config";

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
  /** RegistryService, asked for each tenant's prod `guard` version (its trained classifier). */
  registryUrl: string;
  /** Where trained classifiers are published: the model-server's store (directory or bucket). */
  artifacts: { modelDir: string; bucket: string };
  classifier: {
    /** One ResolveAlias at most this long; past it the tenant is served by the heuristics. */
    resolveTimeoutMs: number;
    /** After the registry or an artifact failed, the next try is this much later. */
    retryMs: number;
    /** A resolved classifier is trusted this long without a promotion event. */
    cacheMs: number;
  };
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
      TAILOR_REGISTRY_URL: env.url(`http://127.0.0.1:${defaultPorts.registry}`),
      TAILOR_MODEL_SERVER_MODEL_DIR: z.string().optional(),
      TAILOR_MODEL_SERVER_ARTIFACT_BUCKET: z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/, "only letters, digits, '-' and '_' are allowed")
        .optional(),
      TAILOR_GUARD_CLASSIFIER_RESOLVE_MS: env.int(2000, 50, 60_000),
      TAILOR_GUARD_CLASSIFIER_RETRY_MS: env.int(30_000, 100, 3_600_000),
      TAILOR_GUARD_CLASSIFIER_CACHE_MS: env.int(600_000, 1000, 86_400_000),
    },
    e,
  );
  const shared = parseSharedConfig(e, "TAILOR_GUARD");
  return {
    ...shared,
    port: v.TAILOR_GUARD_PORT,
    outbox: {
      maxAttempts: v.TAILOR_GUARD_OUTBOX_MAX_ATTEMPTS,
      stallMs: v.TAILOR_GUARD_OUTBOX_STALL_MS,
    },
    dbPoolSize: v.TAILOR_GUARD_DB_POOL,
    maxDeliver: v.TAILOR_GUARD_MAX_DELIVER,
    policyCacheMs: v.TAILOR_GUARD_POLICY_CACHE_MS,
    registryUrl: v.TAILOR_REGISTRY_URL,
    artifacts: {
      modelDir: v.TAILOR_MODEL_SERVER_MODEL_DIR ?? `${shared.dataDir}/models`,
      bucket: v.TAILOR_MODEL_SERVER_ARTIFACT_BUCKET ?? "",
    },
    classifier: {
      resolveTimeoutMs: v.TAILOR_GUARD_CLASSIFIER_RESOLVE_MS,
      retryMs: v.TAILOR_GUARD_CLASSIFIER_RETRY_MS,
      cacheMs: v.TAILOR_GUARD_CLASSIFIER_CACHE_MS,
    },
  };
}
