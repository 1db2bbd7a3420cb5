import {
  defaultPorts,
  env,
  parseEnv,
  parseSharedConfig,
  Secret,
  type SharedConfig,
  z,
} from "@tailor/config";

export interface GatewayConfig extends SharedConfig {
  port: number;
  /** Services it calls. */
  retrievalUrl: string;
  guardUrl: string;
  registryUrl: string;
  modelServerUrl: string;
  /** TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN: for GatewayAdminService (`tailor keys`). */
  adminToken?: Secret;
  /** How long a replica trusts a verified key (a revocation elsewhere takes this long). */
  keyCacheMs: number;
  /** Defaults for keys that do not set their own limits. */
  limits: {
    requestsPerSecond: number;
    burst: number;
    /** Tokens per period; 0 = unlimited. */
    tokenBudget: number;
    /** `month` or `day` (UTC). */
    budgetPeriod: "month" | "day";
  };
  /** Largest request body in bytes (a question of 1 MB is refused by name below it). */
  readMaxBytes: number;
  /** Longest question or message, in characters. */
  maxQuestionChars: number;
  /** Characters of streamed answer held back for the output check before they are sent. */
  holdBackChars: number;
  /** Passages retrieved by default and at most. */
  defaultK: number;
  maxK: number;
  outbox: { maxAttempts: number; stallMs: number };
  dbPoolSize: number;
}

export function parseGatewayConfig(e: NodeJS.ProcessEnv): GatewayConfig {
  const v = parseEnv(
    {
      TAILOR_INFERENCE_GATEWAY_PORT: env.port(defaultPorts.inferenceGateway),
      TAILOR_RETRIEVAL_URL: env.url(`http://127.0.0.1:${defaultPorts.retrieval}`),
      TAILOR_GUARD_URL: env.url(`http://127.0.0.1:${defaultPorts.guard}`),
      TAILOR_REGISTRY_URL: env.url(`http://127.0.0.1:${defaultPorts.registry}`),
      TAILOR_MODEL_SERVER_URL: env.url(`http://127.0.0.1:${defaultPorts.modelServer}`),
      TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN: z
        .string()
        .min(16, "must be at least 16 characters (e.g. `openssl rand -hex 16`)")
        .regex(/^\S+$/, "must not contain spaces")
        .optional(),
      TAILOR_INFERENCE_GATEWAY_KEY_CACHE_MS: env.int(5000, 0, 600_000),
      TAILOR_INFERENCE_GATEWAY_RATE: z.coerce.number().positive().max(1e6).default(50),
      TAILOR_INFERENCE_GATEWAY_BURST: env.int(100, 1, 1_000_000),
      TAILOR_INFERENCE_GATEWAY_TOKEN_BUDGET: env.int(0, 0, Number.MAX_SAFE_INTEGER),
      TAILOR_INFERENCE_GATEWAY_BUDGET_PERIOD: z.enum(["month", "day"]).default("month"),
      TAILOR_INFERENCE_GATEWAY_READ_MAX_BYTES: env.int(2 * 1024 * 1024, 1024, 256 * 1024 * 1024),
      TAILOR_INFERENCE_GATEWAY_MAX_QUESTION_CHARS: env.int(8192, 1, 1_000_000),
      TAILOR_INFERENCE_GATEWAY_HOLD_BACK_CHARS: env.int(160, 0, 10_000),
      TAILOR_INFERENCE_GATEWAY_DEFAULT_K: env.int(5, 1, 50),
      TAILOR_INFERENCE_GATEWAY_MAX_K: env.int(50, 1, 200),
      TAILOR_INFERENCE_GATEWAY_OUTBOX_MAX_ATTEMPTS: env.int(5, 1, 1000),
      TAILOR_INFERENCE_GATEWAY_OUTBOX_STALL_MS: env.int(30_000, 100, 3_600_000),
      TAILOR_INFERENCE_GATEWAY_DB_POOL: env.int(10, 1, 200),
    },
    e,
  );
  return {
    ...parseSharedConfig(e, "TAILOR_INFERENCE_GATEWAY"),
    port: v.TAILOR_INFERENCE_GATEWAY_PORT,
    retrievalUrl: v.TAILOR_RETRIEVAL_URL,
    guardUrl: v.TAILOR_GUARD_URL,
    registryUrl: v.TAILOR_REGISTRY_URL,
    modelServerUrl: v.TAILOR_MODEL_SERVER_URL,
    ...(v.TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN !== undefined && {
      adminToken: new Secret(v.TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN),
    }),
    keyCacheMs: v.TAILOR_INFERENCE_GATEWAY_KEY_CACHE_MS,
    limits: {
      requestsPerSecond: v.TAILOR_INFERENCE_GATEWAY_RATE,
      burst: v.TAILOR_INFERENCE_GATEWAY_BURST,
      tokenBudget: v.TAILOR_INFERENCE_GATEWAY_TOKEN_BUDGET,
      budgetPeriod: v.TAILOR_INFERENCE_GATEWAY_BUDGET_PERIOD,
    },
    readMaxBytes: v.TAILOR_INFERENCE_GATEWAY_READ_MAX_BYTES,
    maxQuestionChars: v.TAILOR_INFERENCE_GATEWAY_MAX_QUESTION_CHARS,
    holdBackChars: v.TAILOR_INFERENCE_GATEWAY_HOLD_BACK_CHARS,
    defaultK: v.TAILOR_INFERENCE_GATEWAY_DEFAULT_K,
    maxK: v.TAILOR_INFERENCE_GATEWAY_MAX_K,
    outbox: {
      maxAttempts: v.TAILOR_INFERENCE_GATEWAY_OUTBOX_MAX_ATTEMPTS,
      stallMs: v.TAILOR_INFERENCE_GATEWAY_OUTBOX_STALL_MS,
    },
    dbPoolSize: v.TAILOR_INFERENCE_GATEWAY_DB_POOL,
  };
}
