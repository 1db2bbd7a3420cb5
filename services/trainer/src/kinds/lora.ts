import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type ObjectStore, Objm } from "@nats-io/obj";
import { type PromptPassage, ragPrompt } from "@tailor/clients";
import {
  isLoraJobError,
  LoraWatchTimeoutError,
  submitLoraJob,
  uploadLoraDataset,
  watchLoraJob,
} from "@tailor/lora";
import {
  GeneratorSpecSchema,
  LineageSchema,
  LoraJobSpecSchema,
  type ModelVersion,
  SearchMode,
} from "@tailor/proto";
import type { TrainerContext } from "../context.js";
import type { JobRow } from "../jobs/job-view.js";
import type { JobEnv, JobOutcome } from "../jobs/runner.js";

/** Passages retrieved per question for its prompt, as the gateway retrieves for an answer. */
const PASSAGES = 4;

/**
 * Supervised fine-tuning of the tenant's ONNX generator through the external LoRA worker
 * (docs/lora.md). Every question of the eval set that has a reference answer becomes one
 * example: the prompt is what the gateway would send the generator for that question (the
 * version's template over the passages retrieval finds at `prod`), the completion its answer.
 * The dataset goes to the Object Store, the job to `lora.<tenant>.submitted`; the worker's
 * statuses are the job's progress, and its merged decoder is registered as a new version of
 * model `generator` with the base's spec and the new model. Nothing is promoted: generators
 * have no automatic gate yet, so promotion is a person's call (`tailor models promote`).
 *
 * A trainer killed mid-job runs it again under the same job id: the upload writes the same
 * bytes, the submission is idempotent, and a worker answers a job whose artifact exists
 * without training it again.
 */
export async function executeLoraJob(
  ctx: TrainerContext,
  job: JobRow,
  env: JobEnv,
): Promise<JobOutcome> {
  const cfg = ctx.config.lora;
  env.report(0.01, "lora: resolving the base generator");
  const base = await baseGenerator(ctx, job, env.signal);
  const spec = base.generator!;
  env.report(0.02, "lora: reading the eval set's answers");
  const set = await ctx.remote.getEvalSet(job.tenant, job.eval_set, false, env.signal);
  const answered = set.queries.filter((q) => q.answer.trim() !== "");
  if (answered.length === 0)
    throw new ConnectError(
      `eval set ${job.eval_set} holds no reference answers: kind lora learns from question/answer sets (tailor evalset import --jsonl)`,
      Code.FailedPrecondition,
    );
  const lines: string[] = [];
  for (const [i, q] of answered.entries()) {
    const r = await ctx.remote.search(
      { tenant: job.tenant, query: q.text, k: PASSAGES, mode: SearchMode.HYBRID, alias: "prod" },
      env.signal,
    );
    const passages: PromptPassage[] = r.hits.map((h, n) => ({
      number: n + 1,
      title: h.title,
      text: h.text,
    }));
    lines.push(
      JSON.stringify({
        prompt: ragPrompt(spec.promptTemplate, { passages, question: q.text }),
        completion: ` ${q.answer.trim()}`,
      }),
    );
    env.report(
      0.02 + (0.08 * (i + 1)) / answered.length,
      `lora: example ${i + 1}/${answered.length}`,
    );
  }
  const data = new TextEncoder().encode(`${lines.join("\n")}\n`);
  const datasetHash = createHash("sha256").update(data).digest("hex");
  await env.pin({ datasetHash, baseVersion: base.version });
  const os = await datasetBucket(ctx, cfg.datasetBucket);
  const dataset = await uploadLoraDataset(
    os,
    cfg.datasetBucket,
    job.tenant,
    `${job.id}.jsonl`,
    data,
  );
  const loraSpec = create(LoraJobSpecSchema, {
    tenant: job.tenant,
    job: job.id,
    baseModel: spec.model,
    dataset,
    rank: cfg.rank,
    alpha: cfg.alpha,
    targetModules: cfg.targetModules,
    steps: cfg.steps,
    learningRate: cfg.learningRate,
    seed: BigInt(job.seed),
    outputName: `${spec.model.split("@")[0]}-${job.tenant}`.slice(0, 64).toLowerCase(),
  });
  await submitLoraJob(ctx.bus, loraSpec);
  env.report(0.1, "lora: submitted; waiting for a worker to take it");
  const metrics: Record<string, number> = { lora_examples: answered.length };
  const artifact = await follow(ctx, job, env, cfg, metrics);
  env.report(0.95, "lora: registering the fine-tuned generator", metrics);
  const registered = await ctx.remote.registerVersion(
    job.tenant,
    "generator",
    undefined,
    create(LineageSchema, {
      parentVersion: base.version,
      trainingJob: job.id,
      datasetHash,
      kind: "lora",
      artifacts: [artifact],
      seed: BigInt(job.seed),
    }),
    env.signal,
    create(GeneratorSpecSchema, { ...spec, model: artifact }),
  );
  return { version: registered.version, metrics };
}

/** The generator version the job starts from, which must be an ONNX decoder. */
async function baseGenerator(
  ctx: TrainerContext,
  job: JobRow,
  signal: AbortSignal,
): Promise<ModelVersion> {
  const base = job.base_version
    ? await ctx.remote.getVersion(job.tenant, job.base_version, signal)
    : await ctx.remote.resolveAlias(job.tenant, "generator", "prod", signal);
  if (!base)
    throw new ConnectError(
      `tenant ${job.tenant} has no generator at prod: register an onnx generator version (or name one with base_version)`,
      Code.FailedPrecondition,
    );
  const kind = base.generator?.kind || "none";
  if (kind !== "onnx")
    throw new ConnectError(
      `${base.version} is a generator of kind ${kind}: kind lora fine-tunes an onnx decoder on the model-server`,
      Code.FailedPrecondition,
    );
  return base;
}

/** The worker's statuses as the job's progress, until its outcome; the merged model's name@version. */
async function follow(
  ctx: TrainerContext,
  job: JobRow,
  env: JobEnv,
  cfg: TrainerContext["config"]["lora"],
  metrics: Record<string, number>,
): Promise<string> {
  // No worker may be running at all: without a first status in acceptMs, the job fails saying so.
  const accepted = new AbortController();
  let taken = false;
  const timer = setTimeout(() => accepted.abort(), cfg.acceptMs);
  const signal = AbortSignal.any([env.signal, accepted.signal]);
  try {
    for await (const s of watchLoraJob(ctx.bus, job.tenant, job.id, {
      timeoutMs: cfg.timeoutMs,
      signal,
    })) {
      if (!taken) {
        taken = true;
        clearTimeout(timer);
      }
      if (s.step > 0) metrics["lora_steps"] = s.step;
      if (s.loss > 0) metrics["lora_loss"] = s.loss;
      if (s.state === "failed")
        throw new ConnectError(
          `LoRA worker ${s.worker || "?"} failed job ${job.id}: ${s.error || "no reason given"}`,
          Code.Aborted,
        );
      if (s.state === "succeeded") {
        if (!s.artifact)
          throw new ConnectError(
            `LoRA worker ${s.worker || "?"} reported success without an artifact`,
            Code.Internal,
          );
        return s.artifact;
      }
      env.report(
        0.1 + 0.85 * Math.min(1, Math.max(0, s.progress)),
        `lora: ${s.state}${s.step > 0 ? ` step ${s.step}` : ""} on ${s.worker || "a worker"}`,
        metrics,
      );
    }
  } catch (err) {
    if (accepted.signal.aborted && !env.signal.aborted)
      throw new ConnectError(
        `no LoRA worker took job ${job.id} within ${cfg.acceptMs} ms: is one running? (docs/lora.md)`,
        Code.Unavailable,
      );
    if (err instanceof LoraWatchTimeoutError)
      throw new ConnectError(err.message, Code.DeadlineExceeded);
    if (isLoraJobError(err)) throw new ConnectError(err.message, Code.Aborted);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  throw new ConnectError(`LoRA job ${job.id} ended without an outcome`, Code.Unavailable);
}

/** The bucket the examples go to, created when absent (as the worker's side expects it). */
function datasetBucket(ctx: TrainerContext, bucket: string): Promise<ObjectStore> {
  return new Objm(ctx.bus.js).create(bucket, { description: "Tailor LoRA training examples" });
}
