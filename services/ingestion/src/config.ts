import { defaultPorts, env, parseEnv, parseSharedConfig, type SharedConfig } from "@tailor/config";

export interface IngestionConfig extends SharedConfig {
  port: number;
  /** Largest document body accepted, in UTF-8 bytes. */
  maxTextBytes: number;
  chunk: { maxTokens: number; overlapTokens: number };
  consumer: { batch: number; maxDeliver: number };
  dbPoolSize: number;
}

export function parseIngestionConfig(e: NodeJS.ProcessEnv): IngestionConfig {
  const v = parseEnv(
    {
      TAILOR_INGESTION_PORT: env.port(defaultPorts.ingestion),
      TAILOR_INGESTION_MAX_TEXT_BYTES: env.int(10 * 1024 * 1024, 1),
      TAILOR_INGESTION_CHUNK_TOKENS: env.int(256, 16, 8192),
      TAILOR_INGESTION_CHUNK_OVERLAP: env.int(32, 0, 4096),
      TAILOR_INGESTION_BATCH: env.int(128, 1, 1024),
      TAILOR_INGESTION_MAX_DELIVER: env.int(8, 1, 100),
      TAILOR_INGESTION_DB_POOL: env.int(10, 1, 200),
    },
    e,
  );
  return {
    ...parseSharedConfig(e),
    port: v.TAILOR_INGESTION_PORT,
    maxTextBytes: v.TAILOR_INGESTION_MAX_TEXT_BYTES,
    chunk: {
      maxTokens: v.TAILOR_INGESTION_CHUNK_TOKENS,
      overlapTokens: v.TAILOR_INGESTION_CHUNK_OVERLAP,
    },
    consumer: {
      batch: v.TAILOR_INGESTION_BATCH,
      maxDeliver: v.TAILOR_INGESTION_MAX_DELIVER,
    },
    dbPoolSize: v.TAILOR_INGESTION_DB_POOL,
  };
}
