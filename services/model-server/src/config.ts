import {
  defaultPorts,
  env,
  parseEnv,
  parseSharedConfig,
  type SharedConfig,
  z,
} from "@tailor/config";

export interface ModelServerConfig extends SharedConfig {
  port: number;
  /** Where built and downloaded models are cached. */
  modelDir: string;
  executionProvider: "cpu" | "cuda" | "auto";
  intraOpThreads: number;
  interOpThreads: number;
  maxTokens: number;
  batch: {
    maxBatchSize: number;
    maxQueueDelayMs: number;
    maxQueueItems: number;
    maxTokens: number;
  };
  /** Limit vocabulary of the default embedder (0 = all words). */
  gloveMaxVocab: number;
}

export function parseModelServerConfig(e: NodeJS.ProcessEnv): ModelServerConfig {
  const shared = parseSharedConfig(e);
  const v = parseEnv(
    {
      TAILOR_MODEL_SERVER_PORT: env.port(defaultPorts.modelServer),
      TAILOR_MODEL_SERVER_MODEL_DIR: z.string().optional(),
      TAILOR_MODEL_SERVER_EXECUTION_PROVIDER: z.enum(["cpu", "cuda", "auto"]).default("cpu"),
      TAILOR_MODEL_SERVER_INTRA_OP_THREADS: env.int(0, 0, 256),
      TAILOR_MODEL_SERVER_INTER_OP_THREADS: env.int(0, 0, 256),
      TAILOR_MODEL_SERVER_MAX_TOKENS: env.int(512, 1, 65_536),
      TAILOR_MODEL_SERVER_MAX_BATCH: env.int(256, 1, 4096),
      TAILOR_MODEL_SERVER_MAX_QUEUE_DELAY_MS: env.int(2, 0, 1000),
      TAILOR_MODEL_SERVER_MAX_QUEUE_ITEMS: env.int(8192, 1, 1_000_000),
      TAILOR_MODEL_SERVER_BATCH_TOKENS: env.int(65_536, 1, 10_000_000),
      TAILOR_MODEL_SERVER_GLOVE_MAX_VOCAB: env.int(0, 0, 10_000_000),
    },
    e,
  );
  return {
    ...shared,
    port: v.TAILOR_MODEL_SERVER_PORT,
    modelDir: v.TAILOR_MODEL_SERVER_MODEL_DIR ?? `${shared.dataDir}/models`,
    executionProvider: v.TAILOR_MODEL_SERVER_EXECUTION_PROVIDER,
    intraOpThreads: v.TAILOR_MODEL_SERVER_INTRA_OP_THREADS,
    interOpThreads: v.TAILOR_MODEL_SERVER_INTER_OP_THREADS,
    maxTokens: v.TAILOR_MODEL_SERVER_MAX_TOKENS,
    batch: {
      maxBatchSize: v.TAILOR_MODEL_SERVER_MAX_BATCH,
      maxQueueDelayMs: v.TAILOR_MODEL_SERVER_MAX_QUEUE_DELAY_MS,
      maxQueueItems: v.TAILOR_MODEL_SERVER_MAX_QUEUE_ITEMS,
      maxTokens: v.TAILOR_MODEL_SERVER_BATCH_TOKENS,
    },
    gloveMaxVocab: v.TAILOR_MODEL_SERVER_GLOVE_MAX_VOCAB,
  };
}
