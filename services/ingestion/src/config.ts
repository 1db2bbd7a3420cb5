import {
  defaultPorts,
  env,
  parseEnv,
  parseSharedConfig,
  type SharedConfig,
  z,
} from "@tailor/config";
import type { ContentLimits } from "./content/index.js";

export interface IngestionConfig extends SharedConfig {
  port: number;
  /** Largest document body accepted, in UTF-8 bytes. */
  maxTextBytes: number;
  /** Limits on the other fields of a document, checked on the bus and the RPC path alike. */
  limits: {
    maxTitleBytes: number;
    maxMetadataKeys: number;
    maxMetadataValueBytes: number;
    /** Keys and values together. */
    maxMetadataBytes: number;
  };
  outbox: {
    /** Publishes a row may fail on its own (not with the whole round) before it is dead-lettered. */
    maxAttempts: number;
    /** After this long without progress the service reports NOT_SERVING. */
    stallMs: number;
  };
  chunk: { maxTokens: number; overlapTokens: number };
  /** Bounds on what extraction and chunking produce from one document. */
  content: ContentLimits;
  consumer: { batch: number; maxDeliver: number };
  dbPoolSize: number;
}

export function parseIngestionConfig(e: NodeJS.ProcessEnv): IngestionConfig {
  const v = parseEnv(
    {
      TAILOR_INGESTION_PORT: env.port(defaultPorts.ingestion),
      TAILOR_INGESTION_MAX_TEXT_BYTES: env.int(10 * 1024 * 1024, 1),
      TAILOR_INGESTION_MAX_TITLE_BYTES: env.int(4096, 16, 65_536),
      TAILOR_INGESTION_MAX_METADATA_KEYS: env.int(64, 0, 1024),
      TAILOR_INGESTION_MAX_METADATA_VALUE_BYTES: env.int(4096, 1, 65_536),
      TAILOR_INGESTION_MAX_METADATA_BYTES: env.int(16_384, 1, 262_144),
      TAILOR_INGESTION_OUTBOX_MAX_ATTEMPTS: env.int(5, 1, 1000),
      TAILOR_INGESTION_OUTBOX_STALL_MS: env.int(30_000, 100, 3_600_000),
      TAILOR_INGESTION_CHUNK_TOKENS: env.int(256, 16, 8192),
      TAILOR_INGESTION_CHUNK_OVERLAP: env.int(32, 0, 4096),
      // Unset: four times TAILOR_INGESTION_MAX_TEXT_BYTES.
      TAILOR_INGESTION_MAX_EXTRACTED_BYTES: z.coerce.number().int().min(1).optional(),
      TAILOR_INGESTION_MAX_EXPANSION: env.int(16, 1, 1_000_000),
      TAILOR_INGESTION_MAX_CHUNKS: env.int(20_000, 1, 10_000_000),
      TAILOR_INGESTION_MAX_DEPTH: env.int(64, 1, 1000),
      TAILOR_INGESTION_MAX_JSON_KEY_BYTES: env.int(1024, 1, 1024 * 1024),
      TAILOR_INGESTION_BATCH: env.int(128, 1, 1024),
      TAILOR_INGESTION_MAX_DELIVER: env.int(8, 1, 100),
      TAILOR_INGESTION_DB_POOL: env.int(10, 1, 200),
    },
    e,
  );
  return {
    ...parseSharedConfig(e, "TAILOR_INGESTION"),
    port: v.TAILOR_INGESTION_PORT,
    maxTextBytes: v.TAILOR_INGESTION_MAX_TEXT_BYTES,
    limits: {
      maxTitleBytes: v.TAILOR_INGESTION_MAX_TITLE_BYTES,
      maxMetadataKeys: v.TAILOR_INGESTION_MAX_METADATA_KEYS,
      maxMetadataValueBytes: v.TAILOR_INGESTION_MAX_METADATA_VALUE_BYTES,
      maxMetadataBytes: v.TAILOR_INGESTION_MAX_METADATA_BYTES,
    },
    outbox: {
      maxAttempts: v.TAILOR_INGESTION_OUTBOX_MAX_ATTEMPTS,
      stallMs: v.TAILOR_INGESTION_OUTBOX_STALL_MS,
    },
    chunk: {
      maxTokens: v.TAILOR_INGESTION_CHUNK_TOKENS,
      overlapTokens: v.TAILOR_INGESTION_CHUNK_OVERLAP,
    },
    content: {
      maxExtractedBytes:
        v.TAILOR_INGESTION_MAX_EXTRACTED_BYTES ?? 4 * v.TAILOR_INGESTION_MAX_TEXT_BYTES,
      maxExpansion: v.TAILOR_INGESTION_MAX_EXPANSION,
      maxChunks: v.TAILOR_INGESTION_MAX_CHUNKS,
      maxDepth: v.TAILOR_INGESTION_MAX_DEPTH,
      maxJsonKeyBytes: v.TAILOR_INGESTION_MAX_JSON_KEY_BYTES,
    },
    consumer: {
      batch: v.TAILOR_INGESTION_BATCH,
      maxDeliver: v.TAILOR_INGESTION_MAX_DELIVER,
    },
    dbPoolSize: v.TAILOR_INGESTION_DB_POOL,
  };
}
