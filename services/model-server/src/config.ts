import { type ModelRef, parseModelRef } from "@tailor/artifacts";
import {
  defaultPorts,
  env,
  parseEnv,
  parseSharedConfig,
  Secret,
  type SharedConfig,
  z,
} from "@tailor/config";

/** Who may call LoadModel and UnloadModel. */
export interface AdminConfig {
  /** TAILOR_MODEL_SERVER_ADMIN_TOKEN: callers send `authorization: Bearer <token>`. */
  token?: Secret;
  /** TAILOR_MODEL_SERVER_ADMIN_OPEN: with no token, let anyone call them (a private laptop). */
  open: boolean;
}

export interface ModelServerConfig extends SharedConfig {
  port: number;
  admin: AdminConfig;
  /** Where built and downloaded models are cached, and the local artifact store's root. */
  modelDir: string;
  /** JetStream Object Store bucket holding published models; empty means the local store only. */
  artifactBucket: string;
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
  generation: {
    /** Streams one causal LM decodes together. */
    maxConcurrentStreams: number;
    /** Streams waiting for a slot before new ones get RESOURCE_EXHAUSTED. */
    maxQueuedStreams: number;
  };
  /**
   * "glove": the built-in GloVe embedder serves Embed calls that name no model; "none": no
   * built-in embedder (tests, GPU boxes that only serve artifacts); any other value names a
   * model (`name[@version]`) from the artifact store that does.
   */
  defaultEmbedder: "glove" | "none" | ModelRef;
  /** Models loaded from the artifact store at start, in order (adapters after their base). */
  preload: ModelRef[];
  /** Limit vocabulary of the default embedder (0 = all words). */
  gloveMaxVocab: number;
}

const modelRef = z.string().transform((s, ctx) => {
  const r = parseModelRef(s.trim());
  if (typeof r === "string") {
    ctx.addIssue({ code: "custom", message: r });
    return z.NEVER;
  }
  return r;
});

const modelRefList = z
  .string()
  .default("")
  .transform((s, ctx) => {
    const refs: ModelRef[] = [];
    for (const part of s.split(",")) {
      if (!part.trim()) continue;
      const r = parseModelRef(part.trim());
      if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
      else refs.push(r);
    }
    return refs;
  });

export function parseModelServerConfig(e: NodeJS.ProcessEnv): ModelServerConfig {
  const shared = parseSharedConfig(e, "TAILOR_MODEL_SERVER");
  const v = parseEnv(
    {
      TAILOR_MODEL_SERVER_PORT: env.port(defaultPorts.modelServer),
      // A guessable token is no lock; 32 random hex characters: `openssl rand -hex 16`.
      TAILOR_MODEL_SERVER_ADMIN_TOKEN: z
        .string()
        .min(16, "must be at least 16 characters (e.g. `openssl rand -hex 16`)")
        .regex(/^\S+$/, "must not contain spaces")
        .optional(),
      TAILOR_MODEL_SERVER_ADMIN_OPEN: env.bool(false),
      TAILOR_MODEL_SERVER_MODEL_DIR: z.string().optional(),
      TAILOR_MODEL_SERVER_ARTIFACT_BUCKET: z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/, "only letters, digits, '-' and '_' are allowed")
        .optional(),
      TAILOR_MODEL_SERVER_EXECUTION_PROVIDER: z.enum(["cpu", "cuda", "auto"]).default("cpu"),
      TAILOR_MODEL_SERVER_INTRA_OP_THREADS: env.int(0, 0, 256),
      TAILOR_MODEL_SERVER_INTER_OP_THREADS: env.int(0, 0, 256),
      TAILOR_MODEL_SERVER_MAX_TOKENS: env.int(512, 1, 65_536),
      TAILOR_MODEL_SERVER_MAX_BATCH: env.int(256, 1, 4096),
      // 0: a batch leaves as soon as the model is free, and whatever queued while it was busy
      // rides along (measured on CPU: a fixed wait only added latency). Raise it on GPUs, where
      // a bigger batch costs almost nothing extra.
      TAILOR_MODEL_SERVER_MAX_QUEUE_DELAY_MS: env.int(0, 0, 1000),
      TAILOR_MODEL_SERVER_MAX_QUEUE_ITEMS: env.int(8192, 1, 1_000_000),
      TAILOR_MODEL_SERVER_BATCH_TOKENS: env.int(65_536, 1, 10_000_000),
      TAILOR_MODEL_SERVER_GENERATION_STREAMS: env.int(8, 1, 1024),
      // At least 1: the decode scheduler counts a stream as queued until its first step, so 0
      // would refuse every stream even with free slots.
      TAILOR_MODEL_SERVER_GENERATION_QUEUE: env.int(64, 1, 100_000),
      TAILOR_MODEL_SERVER_DEFAULT_EMBEDDER: z
        .string()
        .default("glove")
        .pipe(z.union([z.enum(["glove", "none"]), modelRef])),
      TAILOR_MODEL_SERVER_PRELOAD: modelRefList,
      TAILOR_MODEL_SERVER_GLOVE_MAX_VOCAB: env.int(0, 0, 10_000_000),
    },
    e,
  );
  return {
    ...shared,
    port: v.TAILOR_MODEL_SERVER_PORT,
    admin: {
      ...(v.TAILOR_MODEL_SERVER_ADMIN_TOKEN !== undefined && {
        token: new Secret(v.TAILOR_MODEL_SERVER_ADMIN_TOKEN),
      }),
      open: v.TAILOR_MODEL_SERVER_ADMIN_OPEN,
    },
    modelDir: v.TAILOR_MODEL_SERVER_MODEL_DIR ?? `${shared.dataDir}/models`,
    artifactBucket: v.TAILOR_MODEL_SERVER_ARTIFACT_BUCKET ?? "",
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
    generation: {
      maxConcurrentStreams: v.TAILOR_MODEL_SERVER_GENERATION_STREAMS,
      maxQueuedStreams: v.TAILOR_MODEL_SERVER_GENERATION_QUEUE,
    },
    defaultEmbedder: v.TAILOR_MODEL_SERVER_DEFAULT_EMBEDDER,
    preload: v.TAILOR_MODEL_SERVER_PRELOAD,
    gloveMaxVocab: v.TAILOR_MODEL_SERVER_GLOVE_MAX_VOCAB,
  };
}
