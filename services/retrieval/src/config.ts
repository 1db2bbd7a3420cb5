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
  batch: { maxMessages: number; maxWaitMs: number };
}

export interface HybridConfig {
  /** linear: weighted sum of normalised scores; rrf: reciprocal-rank fusion. */
  fusion: "linear" | "rrf";
  /** Weight of the dense side in linear fusion (0..1). */
  denseWeight: number;
  /** Candidates taken from each side before fusing. */
  candidates: number;
  /** Pseudo-relevance feedback (RM3) on the keyword side of hybrid search. */
  rm3: boolean;
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
      rm3: v.TAILOR_RETRIEVAL_RM3,
    },
    batch: {
      maxMessages: v.TAILOR_RETRIEVAL_BATCH_MESSAGES,
      maxWaitMs: v.TAILOR_RETRIEVAL_BATCH_WAIT_MS,
    },
  };
}
