import {
  defaultPorts,
  env,
  parseEnv,
  parseSharedConfig,
  type SharedConfig,
  z,
} from "@tailor/config";
import { METRIC_NAMES, type MetricName } from "@tailor/eval";

/** The gate a candidate must pass, before a request overrides any of it. */
export interface GateDefaults {
  primaryMetric: MetricName;
  minGain: number;
  maxPValue: number;
  tolerance: number;
  canaryWeight: number;
}

export interface EvaluatorConfig extends SharedConfig {
  port: number;
  registryUrl: string;
  retrievalUrl: string;
  /** Registry model whose versions are evaluated when a request names only an alias. */
  model: string;
  gate: GateDefaults;
  /** Wait between the canary and the prod promotion of a passing candidate (0: at once). */
  canarySoakMs: number;
  /** Searches in flight at once during one evaluation. */
  concurrency: number;
  /** Random sign assignments of the paired test (lowered for very large sets, see gate.ts). */
  permutationRounds: number;
  limits: {
    /** Largest topics + qrels (or JSONL) input, in UTF-8 bytes. */
    maxInputBytes: number;
    maxQueries: number;
    maxJudgments: number;
  };
  schedule: {
    /** How often this replica looks for a tenant whose scheduled evaluation is due. */
    pollMs: number;
    /** A scheduled regression asks for training at most this often per prod version. */
    retrainCooldownMs: number;
  };
  outbox: { maxAttempts: number; stallMs: number };
  consumer: { maxDeliver: number; concurrency: number };
  dbPoolSize: number;
}

const unit = (def: number) => z.coerce.number().min(0).max(1).default(def);

export function parseEvaluatorConfig(e: NodeJS.ProcessEnv): EvaluatorConfig {
  const v = parseEnv(
    {
      TAILOR_EVALUATOR_PORT: env.port(defaultPorts.evaluator),
      TAILOR_REGISTRY_URL: env.url(`http://127.0.0.1:${defaultPorts.registry}`),
      TAILOR_RETRIEVAL_URL: env.url(`http://127.0.0.1:${defaultPorts.retrieval}`),
      TAILOR_EVALUATOR_MODEL: z
        .string()
        .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "must be a model name such as retrieval")
        .default("retrieval"),
      TAILOR_EVALUATOR_GATE_PRIMARY_METRIC: z.enum(METRIC_NAMES).default("ndcg_cut_10"),
      TAILOR_EVALUATOR_GATE_MIN_GAIN: z.coerce.number().min(-1).max(1).default(0.005),
      TAILOR_EVALUATOR_GATE_MAX_P_VALUE: z.coerce.number().gt(0).max(1).default(0.1),
      TAILOR_EVALUATOR_GATE_TOLERANCE: unit(0.02),
      TAILOR_EVALUATOR_GATE_CANARY_WEIGHT: z.coerce.number().gt(0).max(1).default(0.1),
      TAILOR_EVALUATOR_CANARY_SOAK_MS: env.int(0, 0, 24 * 3600 * 1000),
      TAILOR_EVALUATOR_CONCURRENCY: env.int(4, 1, 64),
      TAILOR_EVALUATOR_PERMUTATION_ROUNDS: env.int(10_000, 100, 1_000_000),
      TAILOR_EVALUATOR_MAX_INPUT_BYTES: env.int(20 * 1024 * 1024, 1024, 256 * 1024 * 1024),
      TAILOR_EVALUATOR_MAX_QUERIES: env.int(100_000, 1, 1_000_000),
      TAILOR_EVALUATOR_MAX_JUDGMENTS: env.int(5_000_000, 1, 50_000_000),
      TAILOR_EVALUATOR_SCHEDULE_POLL_MS: env.int(30_000, 50, 3_600_000),
      TAILOR_EVALUATOR_RETRAIN_COOLDOWN_MS: env.int(3_600_000, 0, 30 * 24 * 3_600_000),
      TAILOR_EVALUATOR_OUTBOX_MAX_ATTEMPTS: env.int(5, 1, 1000),
      TAILOR_EVALUATOR_OUTBOX_STALL_MS: env.int(30_000, 100, 3_600_000),
      TAILOR_EVALUATOR_MAX_DELIVER: env.int(5, 1, 100),
      TAILOR_EVALUATOR_CONSUMER_CONCURRENCY: env.int(2, 1, 32),
      TAILOR_EVALUATOR_DB_POOL: env.int(10, 1, 200),
    },
    e,
  );
  return {
    ...parseSharedConfig(e, "TAILOR_EVALUATOR"),
    port: v.TAILOR_EVALUATOR_PORT,
    registryUrl: v.TAILOR_REGISTRY_URL,
    retrievalUrl: v.TAILOR_RETRIEVAL_URL,
    model: v.TAILOR_EVALUATOR_MODEL,
    gate: {
      primaryMetric: v.TAILOR_EVALUATOR_GATE_PRIMARY_METRIC,
      minGain: v.TAILOR_EVALUATOR_GATE_MIN_GAIN,
      maxPValue: v.TAILOR_EVALUATOR_GATE_MAX_P_VALUE,
      tolerance: v.TAILOR_EVALUATOR_GATE_TOLERANCE,
      canaryWeight: v.TAILOR_EVALUATOR_GATE_CANARY_WEIGHT,
    },
    canarySoakMs: v.TAILOR_EVALUATOR_CANARY_SOAK_MS,
    concurrency: v.TAILOR_EVALUATOR_CONCURRENCY,
    permutationRounds: v.TAILOR_EVALUATOR_PERMUTATION_ROUNDS,
    limits: {
      maxInputBytes: v.TAILOR_EVALUATOR_MAX_INPUT_BYTES,
      maxQueries: v.TAILOR_EVALUATOR_MAX_QUERIES,
      maxJudgments: v.TAILOR_EVALUATOR_MAX_JUDGMENTS,
    },
    schedule: {
      pollMs: v.TAILOR_EVALUATOR_SCHEDULE_POLL_MS,
      retrainCooldownMs: v.TAILOR_EVALUATOR_RETRAIN_COOLDOWN_MS,
    },
    outbox: {
      maxAttempts: v.TAILOR_EVALUATOR_OUTBOX_MAX_ATTEMPTS,
      stallMs: v.TAILOR_EVALUATOR_OUTBOX_STALL_MS,
    },
    consumer: {
      maxDeliver: v.TAILOR_EVALUATOR_MAX_DELIVER,
      concurrency: v.TAILOR_EVALUATOR_CONSUMER_CONCURRENCY,
    },
    dbPoolSize: v.TAILOR_EVALUATOR_DB_POOL,
  };
}
