import { join } from "node:path";
import {
  defaultPorts,
  env,
  parseEnv,
  parseSharedConfig,
  readAdminToken,
  type SharedConfig,
  z,
} from "@tailor/config";
import { findRepoRoot } from "@tailor/eval";

export interface TrainerConfig extends SharedConfig {
  port: number;
  urls: {
    retrieval: string;
    ingestion: string;
    registry: string;
    evaluator: string;
    modelServer: string;
  };
  /** Bearer token for the model-server's LoadModel (adapter jobs); undefined: none configured. */
  modelServerAdminToken?: string;
  /** Jobs one process runs at once (different tenants or kinds). */
  concurrency: number;
  /**
   * Chunks held in memory by one job, whatever the corpus size: a larger corpus is reservoir-
   * sampled down to this many with the job's seed, so memory stays bounded and the sample is
   * the same on every resume.
   */
  maxChunks: number;
  lease: {
    /** A RUNNING job whose lease is older than this is taken over by another trainer process. */
    expiryMs: number;
    /** How often a runner renews its jobs' leases (and looks for a cancel). */
    heartbeatMs: number;
  };
  /** How often an idle runner looks for queued jobs (it is also woken by new jobs). */
  pollMs: number;
  /** Progress events per job at most this often. */
  progressIntervalMs: number;
  /** Where exported adapter model folders are written before they are published. */
  workDir: string;
  /** Training state is checkpointed at least this often while an adapter trains (and at every stage end). */
  checkpointMs: number;
  adapter: {
    /** Residual (default) or linear adapter. */
    architecture: "residual" | "linear";
    /** Training pairs at most (title → body, heading → section, query → relevant document). */
    maxPairs: number;
    maxEpochs: number;
  };
  guard: {
    /** The shared injection data (attacks and clean e-mails) every guard job trains on. */
    dataDir: string;
    /** Messages read per stream (interactions, feedback) of one tenant by one guard job. */
    maxEvents: number;
    epochs: number;
  };
  /** Fine-tuning of generators by the external LoRA worker (docs/lora.md). */
  lora: {
    /** Object Store bucket the examples are uploaded to; the worker reads it. */
    datasetBucket: string;
    rank: number;
    alpha: number;
    targetModules: string[];
    steps: number;
    learningRate: number;
    /** A job no worker has answered in this long fails, saying so. */
    acceptMs: number;
    /** A job without an outcome in this long fails. */
    timeoutMs: number;
  };
  /** Feedback messages of one tenant read by one retrieval job (its labelled pairs). */
  feedbackMaxEvents: number;
  /** Local artifact store the model-server reads (TAILOR_MODEL_SERVER_MODEL_DIR, as it does). */
  modelDir: string;
  consumer: { maxDeliver: number };
  dbPoolSize: number;
}

export function parseTrainerConfig(e: NodeJS.ProcessEnv): TrainerConfig {
  const shared = parseSharedConfig(e, "TAILOR_TRAINER");
  const local = (port: number) => `http://127.0.0.1:${port}`;
  const v = parseEnv(
    {
      TAILOR_TRAINER_PORT: env.port(defaultPorts.trainer),
      TAILOR_RETRIEVAL_URL: env.url(local(defaultPorts.retrieval)),
      TAILOR_INGESTION_URL: env.url(local(defaultPorts.ingestion)),
      TAILOR_REGISTRY_URL: env.url(local(defaultPorts.registry)),
      TAILOR_EVALUATOR_URL: env.url(local(defaultPorts.evaluator)),
      TAILOR_MODEL_SERVER_URL: env.url(local(defaultPorts.modelServer)),
      TAILOR_MODEL_SERVER_MODEL_DIR: z.string().optional(),
      TAILOR_TRAINER_CONCURRENCY: env.int(1, 1, 64),
      TAILOR_TRAINER_MAX_CHUNKS: env.int(200_000, 100, 10_000_000),
      TAILOR_TRAINER_LEASE_MS: env.int(10_000, 500, 3_600_000),
      TAILOR_TRAINER_HEARTBEAT_MS: env.int(2_000, 100, 600_000),
      TAILOR_TRAINER_POLL_MS: env.int(1_000, 50, 600_000),
      TAILOR_TRAINER_PROGRESS_MS: env.int(500, 0, 600_000),
      TAILOR_TRAINER_WORK_DIR: z.string().optional(),
      TAILOR_TRAINER_CHECKPOINT_MS: env.int(5_000, 0, 3_600_000),
      TAILOR_TRAINER_ADAPTER: z.enum(["residual", "linear"]).default("residual"),
      TAILOR_TRAINER_MAX_PAIRS: env.int(20_000, 50, 2_000_000),
      TAILOR_TRAINER_ADAPTER_EPOCHS: env.int(30, 1, 1000),
      TAILOR_TRAINER_GUARD_DATA_DIR: z.string().min(1).optional(),
      TAILOR_TRAINER_GUARD_MAX_EVENTS: env.int(200_000, 1, 10_000_000),
      TAILOR_TRAINER_GUARD_EPOCHS: env.int(12, 1, 200),
      TAILOR_TRAINER_FEEDBACK_MAX_EVENTS: env.int(50_000, 1, 10_000_000),
      TAILOR_TRAINER_MAX_DELIVER: env.int(8, 1, 100),
      TAILOR_TRAINER_DB_POOL: env.int(5, 1, 100),
      TAILOR_TRAINER_LORA_DATASET_BUCKET: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/, "must match [A-Za-z0-9_-]{1,64}")
        .optional(),
      TAILOR_TRAINER_LORA_RANK: env.int(8, 1, 256),
      TAILOR_TRAINER_LORA_ALPHA: z.coerce.number().positive().default(16),
      TAILOR_TRAINER_LORA_TARGET_MODULES: z.string().default("q_proj,v_proj"),
      TAILOR_TRAINER_LORA_STEPS: env.int(200, 1, 100_000),
      TAILOR_TRAINER_LORA_LEARNING_RATE: z.coerce.number().positive().default(2e-4),
      TAILOR_TRAINER_LORA_ACCEPT_MS: env.int(600_000, 100, 86_400_000),
      TAILOR_TRAINER_LORA_TIMEOUT_MS: env.int(21_600_000, 1_000, 604_800_000),
    },
    e,
  );
  return {
    ...shared,
    port: v.TAILOR_TRAINER_PORT,
    urls: {
      retrieval: v.TAILOR_RETRIEVAL_URL,
      ingestion: v.TAILOR_INGESTION_URL,
      registry: v.TAILOR_REGISTRY_URL,
      evaluator: v.TAILOR_EVALUATOR_URL,
      modelServer: v.TAILOR_MODEL_SERVER_URL,
    },
    modelServerAdminToken: readAdminToken(shared.dataDir, e),
    concurrency: v.TAILOR_TRAINER_CONCURRENCY,
    maxChunks: v.TAILOR_TRAINER_MAX_CHUNKS,
    lease: {
      expiryMs: v.TAILOR_TRAINER_LEASE_MS,
      // A heartbeat slower than the expiry would let a live job be taken over.
      heartbeatMs: Math.min(
        v.TAILOR_TRAINER_HEARTBEAT_MS,
        Math.floor(v.TAILOR_TRAINER_LEASE_MS / 3),
      ),
    },
    pollMs: v.TAILOR_TRAINER_POLL_MS,
    progressIntervalMs: v.TAILOR_TRAINER_PROGRESS_MS,
    workDir: v.TAILOR_TRAINER_WORK_DIR ?? `${shared.dataDir}/trainer`,
    checkpointMs: v.TAILOR_TRAINER_CHECKPOINT_MS,
    adapter: {
      architecture: v.TAILOR_TRAINER_ADAPTER,
      maxPairs: v.TAILOR_TRAINER_MAX_PAIRS,
      maxEpochs: v.TAILOR_TRAINER_ADAPTER_EPOCHS,
    },
    guard: {
      dataDir: v.TAILOR_TRAINER_GUARD_DATA_DIR ?? defaultInjectionData(shared.dataDir),
      maxEvents: v.TAILOR_TRAINER_GUARD_MAX_EVENTS,
      epochs: v.TAILOR_TRAINER_GUARD_EPOCHS,
    },
    lora: {
      // Beside another copy of Tailor on the same NATS, the prefix keeps datasets apart.
      datasetBucket:
        v.TAILOR_TRAINER_LORA_DATASET_BUCKET ??
        (shared.busPrefix ? `${shared.busPrefix}-lora-datasets` : "tailor-lora-datasets"),
      rank: v.TAILOR_TRAINER_LORA_RANK,
      alpha: v.TAILOR_TRAINER_LORA_ALPHA,
      targetModules: v.TAILOR_TRAINER_LORA_TARGET_MODULES.split(",")
        .map((m) => m.trim())
        .filter((m) => m !== ""),
      steps: v.TAILOR_TRAINER_LORA_STEPS,
      learningRate: v.TAILOR_TRAINER_LORA_LEARNING_RATE,
      acceptMs: v.TAILOR_TRAINER_LORA_ACCEPT_MS,
      timeoutMs: v.TAILOR_TRAINER_LORA_TIMEOUT_MS,
    },
    feedbackMaxEvents: v.TAILOR_TRAINER_FEEDBACK_MAX_EVENTS,
    modelDir: v.TAILOR_MODEL_SERVER_MODEL_DIR ?? `${shared.dataDir}/models`,
    consumer: { maxDeliver: v.TAILOR_TRAINER_MAX_DELIVER },
    dbPoolSize: v.TAILOR_TRAINER_DB_POOL,
  };
}

/**
 * `../shared/data/injection` beside the checkout (where the data lives, never in the repo);
 * outside a checkout, `injection/` under the data dir.
 */
function defaultInjectionData(dataDir: string): string {
  try {
    return join(findRepoRoot(), "..", "shared", "data", "injection");
  } catch {
    return join(dataDir, "injection");
  }
}
