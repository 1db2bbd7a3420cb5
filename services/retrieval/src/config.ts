import { type EmbedderRef, embedderRefSetting } from "@tailor/clients";
import {
  defaultPorts,
  env,
  parseEnv,
  parseSharedConfig,
  type SharedConfig,
  z,
} from "@tailor/config";

export interface RetrievalConfig extends SharedConfig {
  port: number;
  modelServerUrl: string;
  /**
   * The index version tenants are served at unless their own state says otherwise:
   * TAILOR_RETRIEVAL_EMBEDDER (`name@version`), else TAILOR_EMBEDDING_MODEL or the model-server's
   * default embedder, resolved to an exact version once at start.
   */
  embedder: EmbedderRef;
  /** Qdrant URL; when unset the embedded on-disk index is used. */
  qdrantUrl?: string;
  qdrantApiKey?: string;
  /** Where the embedded index and retrieval state live. */
  indexDir: string;
  hybrid: HybridConfig;
  registry: RegistryConfig;
  indexBuild: IndexBuildConfig;
  batch: { maxMessages: number; maxWaitMs: number };
}

export interface HybridConfig {
  /** linear: weighted sum of normalised scores; rrf: reciprocal-rank fusion. */
  fusion: "linear" | "rrf";
  /** Weight of the dense side in linear fusion (0..1). */
  denseWeight: number;
  /** Candidates taken from each side before fusing. */
  candidates: number;
  /** Pseudo-relevance feedback (RM3) on the keyword side of hybrid search; 0 docs = off. */
  rm3: { docs: number; terms: number; weight: number };
}

/** Where retrieval asks which registry version a search runs at, and how much it remembers. */
export interface RegistryConfig {
  /** RegistryService (TAILOR_REGISTRY_URL). */
  url: string;
  /** Deadline of one registry call: a slow registry must not hold searches for long. */
  timeoutMs: number;
  /** Version specs kept (they never change, so they are evicted only for room). */
  specCacheSize: number;
  /** (tenant, alias) targets kept; kept up to date by the MODEL stream. */
  aliasCacheSize: number;
}

export function parseRetrievalConfig(e: NodeJS.ProcessEnv): RetrievalConfig {
  const shared = parseSharedConfig(e, "TAILOR_RETRIEVAL");
  const v = parseEnv(
    {
      TAILOR_RETRIEVAL_PORT: env.port(defaultPorts.retrieval),
      TAILOR_MODEL_SERVER_URL: env.url(`http://127.0.0.1:${defaultPorts.modelServer}`),
      TAILOR_EMBEDDING_MODEL: embedderRefSetting,
      TAILOR_RETRIEVAL_EMBEDDER: embedderRefSetting,
      TAILOR_QDRANT_URL: env.optionalUrl(),
      TAILOR_QDRANT_API_KEY: z.string().optional(),
      TAILOR_RETRIEVAL_INDEX_DIR: z.string().optional(),
      TAILOR_RETRIEVAL_FUSION: z.enum(["linear", "rrf"]).default("linear"),
      TAILOR_RETRIEVAL_DENSE_WEIGHT: z.coerce.number().min(0).max(1).default(0.2),
      TAILOR_RETRIEVAL_CANDIDATES: env.int(100, 10, 5000),
      TAILOR_RETRIEVAL_RM3: env.bool(true),
      TAILOR_RETRIEVAL_RM3_DOCS: env.int(10, 1, 1000),
      TAILOR_RETRIEVAL_RM3_TERMS: env.int(10, 1, 1000),
      TAILOR_RETRIEVAL_RM3_WEIGHT: z.coerce.number().min(0).max(1).default(0.5),
      TAILOR_INGESTION_URL: env.url(`http://127.0.0.1:${defaultPorts.ingestion}`),
      TAILOR_RETRIEVAL_BUILD_PAGE: env.int(256, 1, 1024),
      TAILOR_RETRIEVAL_BUILD_EMBED_BATCH: env.int(256, 1, 4096),
      TAILOR_REGISTRY_URL: env.url(`http://127.0.0.1:${defaultPorts.registry}`),
      TAILOR_RETRIEVAL_REGISTRY_TIMEOUT_MS: env.int(3000, 100, 60_000),
      TAILOR_RETRIEVAL_SPEC_CACHE: env.int(10_000, 1, 10_000_000),
      TAILOR_RETRIEVAL_ALIAS_CACHE: env.int(100_000, 1, 10_000_000),
      TAILOR_RETRIEVAL_BATCH_MESSAGES: env.int(64, 1, 1024),
      TAILOR_RETRIEVAL_BATCH_WAIT_MS: env.int(20, 0, 10_000),
    },
    e,
  );
  return {
    ...shared,
    port: v.TAILOR_RETRIEVAL_PORT,
    modelServerUrl: v.TAILOR_MODEL_SERVER_URL,
    embedder:
      v.TAILOR_RETRIEVAL_EMBEDDER.model !== ""
        ? v.TAILOR_RETRIEVAL_EMBEDDER
        : v.TAILOR_EMBEDDING_MODEL,
    qdrantUrl: v.TAILOR_QDRANT_URL,
    qdrantApiKey: v.TAILOR_QDRANT_API_KEY,
    indexDir: v.TAILOR_RETRIEVAL_INDEX_DIR ?? `${shared.dataDir}/retrieval`,
    hybrid: {
      fusion: v.TAILOR_RETRIEVAL_FUSION,
      denseWeight: v.TAILOR_RETRIEVAL_DENSE_WEIGHT,
      candidates: v.TAILOR_RETRIEVAL_CANDIDATES,
      rm3: {
        docs: v.TAILOR_RETRIEVAL_RM3 ? v.TAILOR_RETRIEVAL_RM3_DOCS : 0,
        terms: v.TAILOR_RETRIEVAL_RM3_TERMS,
        weight: v.TAILOR_RETRIEVAL_RM3_WEIGHT,
      },
    },
    indexBuild: {
      ingestionUrl: v.TAILOR_INGESTION_URL,
      pageSize: v.TAILOR_RETRIEVAL_BUILD_PAGE,
      embedBatch: v.TAILOR_RETRIEVAL_BUILD_EMBED_BATCH,
    },
    registry: {
      url: v.TAILOR_REGISTRY_URL,
      timeoutMs: v.TAILOR_RETRIEVAL_REGISTRY_TIMEOUT_MS,
      specCacheSize: v.TAILOR_RETRIEVAL_SPEC_CACHE,
      aliasCacheSize: v.TAILOR_RETRIEVAL_ALIAS_CACHE,
    },
    batch: {
      maxMessages: v.TAILOR_RETRIEVAL_BATCH_MESSAGES,
      maxWaitMs: v.TAILOR_RETRIEVAL_BATCH_WAIT_MS,
    },
  };
}

/** What building and dropping index versions needs. */
export interface IndexBuildConfig {
  /** IngestionService, where a build lists the tenant's chunks (TAILOR_INGESTION_URL). */
  ingestionUrl: string;
  /** Chunks per ListChunks message (TAILOR_RETRIEVAL_BUILD_PAGE). */
  pageSize: number;
  /** Texts per Embed call when re-embedding (TAILOR_RETRIEVAL_BUILD_EMBED_BATCH). */
  embedBatch: number;
}
