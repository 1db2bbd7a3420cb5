import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  LineageSchema,
  ModelTrainedSchema,
  type ModelVersion,
  type RetrievalSpec,
  RetrievalSpecSchema,
} from "@tailor/proto";
import type { TrainerContext } from "../context.js";
import { type Corpus, datasetHash, readCorpus } from "../data/corpus.js";
import { readTrainSet, type TrainSet } from "../data/eval-data.js";
import type { JobKind, JobRow } from "../jobs/job-view.js";
import type { JobEnv, JobOutcome } from "../jobs/runner.js";
import { trainAdapterStage } from "./adapter.js";
import { decodeCheckpoint, encodeCheckpoint, type JobCheckpoint } from "./checkpoint.js";
import { normalise, readFeedbackPairs, withFeedback } from "./feedback-pairs.js";
import { executeGuardJob } from "./guard.js";
import { executeLoraJob } from "./lora.js";
import { trainParamsStage } from "./params.js";
import { trainRerankerStage } from "./reranker.js";

/** What every stage of a job works with. */
export interface StageEnv {
  ctx: TrainerContext;
  job: JobRow;
  env: JobEnv;
  seed: number;
  train: TrainSet;
  corpus: Corpus;
  base: ModelVersion;
  baseSpec: RetrievalSpec;
  checkpoint: JobCheckpoint;
  /** Writes the checkpoint as it is now. */
  save(): Promise<void>;
  /** Maps a stage's own 0..1 into the job's progress and reports it. */
  progress(fraction: number, stage: string, metrics?: Record<string, number>): void;
}

/** Shares of the job's progress: data first, then each stage the kind runs. */
const PLAN: Record<
  Exclude<JobKind, "guard" | "lora">,
  { stage: "params" | "adapter" | "reranker"; share: number }[]
> = {
  "retrieval-params": [{ stage: "params", share: 0.9 }],
  reranker: [{ stage: "reranker", share: 0.9 }],
  adapter: [{ stage: "adapter", share: 0.9 }],
  // The adapter first: the dense weight is then tuned on the adapter's index, and the reranker
  // learns on candidates of the final parameters and embedder.
  all: [
    { stage: "adapter", share: 0.5 },
    { stage: "params", share: 0.2 },
    { stage: "reranker", share: 0.2 },
  ],
};

/** 64-bit job seed → the 32-bit seed the learners take (both halves mixed in). */
export function seed32(seed: string): number {
  const s = BigInt(seed);
  return Number((s & 0xffffffffn) ^ ((s >> 32n) & 0xffffffffn)) >>> 0;
}

/**
 * Runs one job: reads its data (the train eval set with the tenant's feedback pairs added, and
 * the corpus snapshot), resolves its base version, runs its kind's stages (skipping what the
 * checkpoint says is done), and registers one candidate version with its lineage. The succeeded state and `model.<tenant>.trained` are
 * then written together by the runner.
 */
export async function executeJob(
  ctx: TrainerContext,
  job: JobRow,
  env: JobEnv,
): Promise<JobOutcome> {
  const kind = job.kind as JobKind;
  // A guard job trains on injection data and the tenant's events, not on an eval set or corpus.
  if (kind === "guard") return executeGuardJob(ctx, job, env);
  // A lora job hands the tenant's question/answer set to the external LoRA worker.
  if (kind === "lora") return executeLoraJob(ctx, job, env);
  const plan = PLAN[kind];
  if (!plan) throw new Error(`kind ${job.kind} is not one the trainer runs`);
  const seed = seed32(job.seed);
  env.report(0.01, "reading the eval set");
  const labelled = await readTrainSet(ctx.remote, job.tenant, job.eval_set, env.signal);
  env.report(0.015, "reading the tenant's feedback");
  const feedback = await readFeedbackPairs(ctx.bus, job.tenant, {
    maxEvents: ctx.config.feedbackMaxEvents,
    signal: env.signal,
    logger: env.logger,
  });
  // Feedback joins the training side only; a question the held-out set asks is left out.
  const heldout =
    feedback.pairs.length > 0 && job.heldout_eval_set
      ? await ctx.remote.getEvalSet(job.tenant, job.heldout_eval_set, false, env.signal)
      : undefined;
  const { train, added } = withFeedback(
    labelled,
    feedback.pairs,
    new Set(heldout?.queries.map((q) => normalise(q.text))),
  );
  env.report(0.02, "reading the corpus");
  const keepText = kind !== "reranker";
  const corpus = await readCorpus(ctx.remote, job.tenant, {
    maxChunks: ctx.config.maxChunks,
    seed,
    keepText,
    signal: env.signal,
    onPage: (n) => env.report(0.03, `reading the corpus (${n} chunks)`),
  });
  if (keepText && corpus.chunks.length === 0)
    throw new ConnectError(
      `tenant ${job.tenant} has no chunks in ingestion: nothing to train on`,
      Code.FailedPrecondition,
    );
  const hash = datasetHash(train.hash, corpus.hash);
  const base = await resolveBase(ctx, job, env.signal);
  await env.pin({ datasetHash: hash, baseVersion: base.version });
  const baseSpec = base.spec ?? create(RetrievalSpecSchema, {});
  let checkpoint = decodeCheckpoint(await env.loadCheckpoint());
  if (checkpoint && (checkpoint.datasetHash !== hash || checkpoint.base !== base.version)) {
    env.logger.warn("the training data or base changed since the checkpoint: starting over");
    checkpoint = undefined;
  }
  const cp: JobCheckpoint = checkpoint ?? { format: 1, datasetHash: hash, base: base.version };
  let done = 0.05;
  let share = 0;
  const s: StageEnv = {
    ctx,
    job,
    env,
    seed,
    train,
    corpus,
    base,
    baseSpec,
    checkpoint: cp,
    save: () => env.saveCheckpoint(encodeCheckpoint(cp)),
    progress: (fraction, stage, metrics) =>
      env.report(done + share * Math.min(1, Math.max(0, fraction)), stage, metrics),
  };
  let spec = create(RetrievalSpecSchema, { ...baseSpec, reranker: undefined });
  const metrics: Record<string, number> = {
    train_queries: train.judged.length,
    feedback_pairs: added,
    feedback_events: feedback.read,
    feedback_truncated: feedback.truncated ? 1 : 0,
    corpus_chunks: corpus.total,
    corpus_chunks_used: corpus.chunks.length,
  };
  const artifacts: string[] = [];
  for (const step of plan) {
    share = step.share;
    switch (step.stage) {
      case "params": {
        const p = await trainParamsStage(s, spec.embedder);
        spec = create(RetrievalSpecSchema, { ...spec, ...withoutMetrics(p) });
        Object.assign(metrics, p.metrics);
        break;
      }
      case "adapter": {
        const a = await trainAdapterStage(s);
        spec = create(RetrievalSpecSchema, { ...spec, embedder: a.embedder });
        artifacts.push(a.embedder);
        Object.assign(metrics, a.metrics);
        break;
      }
      case "reranker": {
        const r = await trainRerankerStage(s, spec);
        spec = create(RetrievalSpecSchema, { ...spec, reranker: r.reranker });
        Object.assign(metrics, r.metrics);
        if (r.intermediate) artifacts.push(r.intermediate);
        break;
      }
      default: {
        const never: never = step.stage;
        throw new Error(`unknown stage ${String(never)}`);
      }
    }
    done += share;
    env.signal.throwIfAborted();
  }
  env.report(0.97, "registering the candidate version", metrics);
  const registered = await ctx.remote.registerVersion(
    job.tenant,
    job.model,
    spec,
    create(LineageSchema, {
      parentVersion: base.version,
      trainingJob: job.id,
      datasetHash: hash,
      kind: job.kind,
      artifacts,
      seed: BigInt(job.seed),
    }),
    env.signal,
  );
  if (cp.intermediate) {
    // Registered only to be searched for reranker features: never to be served.
    await ctx.remote
      .rejectVersion(
        job.tenant,
        cp.intermediate,
        `intermediate stage of training job ${job.id}, superseded by ${registered.version}`,
        env.signal,
      )
      .catch((err: unknown) =>
        env.logger.warn(
          { version: cp.intermediate, err: (err as Error).message },
          "could not reject the intermediate version",
        ),
      );
  }
  return {
    version: registered.version,
    metrics,
    trained: create(ModelTrainedSchema, {
      tenant: job.tenant,
      model: job.model,
      version: registered.version,
      parentVersion: base.version,
      job: job.id,
      kind: job.kind,
      evalSet: job.eval_set,
      heldoutEvalSet: job.heldout_eval_set,
    }),
  };
}

function withoutMetrics<T extends { metrics: unknown }>(p: T): Omit<T, "metrics"> {
  const { metrics: _, ...rest } = p;
  return rest;
}

/**
 * The version the job starts from: the one it names, else what `prod` points at. A tenant with
 * no model yet gets its base version from retrieval, which registers it the first time it
 * resolves the tenant's prod alias: one search asks for that.
 */
async function resolveBase(
  ctx: TrainerContext,
  job: JobRow,
  signal: AbortSignal,
): Promise<ModelVersion> {
  if (job.base_version) return ctx.remote.getVersion(job.tenant, job.base_version, signal);
  const prod = await ctx.remote.resolveAlias(job.tenant, job.model, "prod", signal);
  if (prod) return prod;
  await ctx.remote.search({ tenant: job.tenant, query: "base", k: 1, alias: "prod" }, signal);
  const created = await ctx.remote.resolveAlias(job.tenant, job.model, "prod", signal);
  if (!created)
    throw new ConnectError(
      `tenant ${job.tenant} has no ${job.model} model and retrieval did not register its base version`,
      Code.FailedPrecondition,
    );
  return created;
}
