import { type EmbedderRef, embedderRefSetting } from "@tailor/clients";
import { defaultPorts, env, parseEnv, parseSharedConfig, type SharedConfig } from "@tailor/config";

export interface EmbeddingConfig extends SharedConfig {
  port: number;
  modelServerUrl: string;
  /**
   * `name@version`, `name` or empty (the model-server's default embedder); a partial one is
   * resolved to an exact version once, at start, and every vector is made at that version.
   */
  model: EmbedderRef;
  batch: { maxMessages: number; maxWaitMs: number; maxTexts: number };
  maxDeliver: number;
}

export function parseEmbeddingConfig(e: NodeJS.ProcessEnv): EmbeddingConfig {
  const v = parseEnv(
    {
      TAILOR_EMBEDDING_PORT: env.port(defaultPorts.embedding),
      TAILOR_MODEL_SERVER_URL: env.url(`http://127.0.0.1:${defaultPorts.modelServer}`),
      TAILOR_EMBEDDING_MODEL: embedderRefSetting,
      TAILOR_EMBEDDING_BATCH_MESSAGES: env.int(64, 1, 1024),
      TAILOR_EMBEDDING_BATCH_WAIT_MS: env.int(25, 0, 10_000),
      TAILOR_EMBEDDING_BATCH_TEXTS: env.int(256, 1, 4096),
      TAILOR_EMBEDDING_MAX_DELIVER: env.int(8, 1, 100),
    },
    e,
  );
  return {
    ...parseSharedConfig(e, "TAILOR_EMBEDDING"),
    port: v.TAILOR_EMBEDDING_PORT,
    modelServerUrl: v.TAILOR_MODEL_SERVER_URL,
    model: v.TAILOR_EMBEDDING_MODEL,
    batch: {
      maxMessages: v.TAILOR_EMBEDDING_BATCH_MESSAGES,
      maxWaitMs: v.TAILOR_EMBEDDING_BATCH_WAIT_MS,
      maxTexts: v.TAILOR_EMBEDDING_BATCH_TEXTS,
    },
    maxDeliver: v.TAILOR_EMBEDDING_MAX_DELIVER,
  };
}
