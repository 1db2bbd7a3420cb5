import { randomUUID } from "node:crypto";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { Tokenizer } from "@huggingface/tokenizers";
import type { ObjectStore } from "@nats-io/obj";
import {
  type Artifact,
  ArtifactExistsError,
  ArtifactNotFoundError,
  parseModelRef,
} from "@tailor/artifacts";
import type { LoraJobSpec } from "@tailor/proto";
import { adamMoments, adamStep } from "@tailor/train";
import type { LoraArtifacts } from "./artifact-target.js";
import {
  type DatasetLimits,
  DEFAULT_DATASET_LIMITS,
  parseLoraDataset,
  readLoraDataset,
} from "./dataset.js";
import { lossAndGradient, type TrainingSequence } from "./decoder-grad.js";
import { LoraJobError } from "./errors.js";
import {
  LORA_INFO_FILE,
  type LoraInfo,
  readLoraInfo,
  sameJob,
  shuffledOrder,
} from "./lora-info.js";
import { LoraParams } from "./lora-params.js";
import {
  type DecoderConfig,
  loadTinyDecoder,
  mergeLora,
  UnsupportedDecoderError,
} from "./onnx-decoder.js";
import { loraArtifactVersion, loraSpecDigest, type TargetModule } from "./spec.js";

/** What the reference worker refuses beyond the contract's own bounds: it trains on a CPU. */
export interface ReferenceLimits {
  readonly maxSteps: number;
  readonly maxRank: number;
  /** Prompt + completion (+ EOS) tokens of one example. */
  readonly maxSeqTokens: number;
  readonly dataset: DatasetLimits;
}

export const DEFAULT_REFERENCE_LIMITS: ReferenceLimits = {
  maxSteps: 20_000,
  maxRank: 64,
  maxSeqTokens: 256,
  dataset: DEFAULT_DATASET_LIMITS,
};

/** What runLoraJob needs besides the spec. */
export interface LoraJobContext {
  readonly artifacts: LoraArtifacts;
  readonly datasets: ObjectStore;
  readonly datasetBucket: string;
  readonly workDir: string;
  readonly worker: string;
  readonly limits: ReferenceLimits;
  /** Steps between progress reports; default a twentieth of the steps (at least 1). */
  readonly reportEvery?: number;
  /** Called every `reportEvery` steps and after the last, with the mean loss since the last call. */
  onProgress(step: number, loss: number): Promise<void>;
  readonly signal?: AbortSignal;
}

/** The outcome of a job. */
export interface LoraJobResult {
  /** `name@version` of the merged decoder. */
  readonly artifact: string;
  /** The artifact was already there from an earlier delivery of this job: nothing was trained. */
  readonly reused: boolean;
  readonly loss: number;
}

const OPTIMISER = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

/**
 * Runs one job: loads the base decoder, trains LoRA matrices on next-token cross-entropy of the
 * completion tokens, merges them into the ONNX initializers and publishes the folder as
 * `<output_name>@lora-<tenant>.<job>`. A job whose artifact already exists is not trained again.
 */
export async function runLoraJob(spec: LoraJobSpec, ctx: LoraJobContext): Promise<LoraJobResult> {
  const version = loraArtifactVersion(spec.tenant, spec.job);
  const artifact = `${spec.outputName}@${version}`;
  const digest = loraSpecDigest(spec);
  const earlier = await existingOutput(ctx, spec, version, digest);
  if (earlier) return { artifact, reused: true, loss: earlier.final_loss };
  if (spec.steps > ctx.limits.maxSteps)
    throw new LoraJobError(
      "steps",
      `${spec.steps} is over this CPU reference worker's limit of ${ctx.limits.maxSteps}`,
    );
  if (spec.rank > ctx.limits.maxRank)
    throw new LoraJobError(
      "rank",
      `${spec.rank} is over this CPU reference worker's limit of ${ctx.limits.maxRank}`,
    );

  const base = await resolveBase(ctx, spec);
  const config = JSON.parse(
    await readFile(join(base.dir, "config.json"), "utf8"),
  ) as DecoderConfig & {
    eos_token_id?: number | number[];
    max_position_embeddings?: number;
  };
  let loaded: ReturnType<typeof loadTinyDecoder>;
  try {
    loaded = loadTinyDecoder(await readFile(join(base.dir, "model.onnx")), config);
  } catch (err) {
    if (err instanceof UnsupportedDecoderError)
      throw new LoraJobError("base_model", err.message, { cause: err });
    throw err;
  }

  if (spec.dataset!.bucket !== ctx.datasetBucket)
    throw new LoraJobError(
      "dataset.bucket",
      `this worker reads datasets from bucket ${ctx.datasetBucket} only`,
    );
  const examples = parseLoraDataset(
    await readLoraDataset(ctx.datasets, spec.dataset!, ctx.limits.dataset),
    ctx.limits.dataset,
  );
  const tokenizer = new Tokenizer(
    JSON.parse(await readFile(join(base.dir, "tokenizer.json"), "utf8")),
    JSON.parse(await readFile(join(base.dir, "tokenizer_config.json"), "utf8").catch(() => "{}")),
  );
  const eos = Array.isArray(config.eos_token_id) ? config.eos_token_id[0] : config.eos_token_id;
  const maxTokens = Math.min(
    ctx.limits.maxSeqTokens,
    config.max_position_embeddings ?? ctx.limits.maxSeqTokens,
  );
  const sequences: TrainingSequence[] = examples.map((e) => {
    // The prompt as the model-server tokenizes a Generate prompt (BOS included), then the
    // completion without specials, then EOS so the model learns where to stop.
    const prompt = tokenizer.encode(e.prompt).ids;
    const completion = tokenizer.encode(e.completion, { add_special_tokens: false }).ids;
    const ids = [...prompt, ...completion, ...(eos === undefined ? [] : [eos])];
    if (ids.length > maxTokens)
      throw new LoraJobError(
        `dataset line ${e.line}`,
        `prompt and completion are ${ids.length} tokens, over the limit of ${maxTokens}`,
      );
    if (ids.length <= prompt.length || prompt.length === 0)
      throw new LoraJobError(`dataset line ${e.line}`, "has no completion tokens to learn");
    return { ids, targetFrom: prompt.length };
  });

  const lora = new LoraParams(
    loaded.weights,
    spec.targetModules as TargetModule[],
    spec.rank,
    spec.alpha,
  );
  lora.initialise(spec.seed);
  const state = adamMoments(lora.values.length);
  const grad = new Float64Array(lora.values.length);
  const every = ctx.reportEvery ?? Math.max(1, Math.floor(spec.steps / 20));
  const order = shuffledOrder(sequences.length, spec.seed, spec.steps);
  let windowLoss = 0;
  let windowSteps = 0;
  let lastLoss = Number.NaN;
  let firstLoss = Number.NaN;
  let lastYield = performance.now();
  for (let step = 1; step <= spec.steps; step++) {
    grad.fill(0);
    const loss = lossAndGradient(loaded.weights, lora, sequences[order[step - 1]!]!, grad);
    if (!Number.isFinite(loss))
      throw new LoraJobError("learning_rate", `training diverged at step ${step} (loss ${loss})`);
    if (step === 1) firstLoss = loss;
    adamStep(lora.values, grad, state, { ...OPTIMISER, lr: spec.learningRate }, lora.values);
    windowLoss += loss;
    windowSteps++;
    if (step % every === 0 || step === spec.steps) {
      lastLoss = windowLoss / windowSteps;
      windowLoss = 0;
      windowSteps = 0;
      await ctx.onProgress(step, lastLoss);
    }
    // Let timers (the ack heartbeat) and I/O run between steps.
    if (performance.now() - lastYield > 50) {
      await yieldToLoop();
      lastYield = performance.now();
      ctx.signal?.throwIfAborted();
    }
  }

  const { bytes, rewritten } = mergeLora(loaded, lora, "tailor-lora-reference");
  const info: LoraInfo = {
    format: "tailor-lora/v1",
    tenant: spec.tenant,
    job: spec.job,
    spec_digest: digest,
    base_model: spec.baseModel,
    output: artifact,
    dataset: {
      bucket: spec.dataset!.bucket,
      name: spec.dataset!.name,
      sha256: spec.dataset!.sha256,
      size: Number(spec.dataset!.size),
      examples: examples.length,
    },
    rank: spec.rank,
    alpha: spec.alpha,
    scale: lora.scale,
    target_modules: [...spec.targetModules],
    steps: spec.steps,
    learning_rate: spec.learningRate,
    seed: String(spec.seed),
    objective:
      "next-token cross-entropy of the completion tokens (prompt tokens masked), Adam, batch 1",
    merged_initializers: rewritten,
    first_loss: firstLoss,
    final_loss: lastLoss,
    trainer: "reference-cpu",
    worker: ctx.worker,
  };
  const dir = join(ctx.workDir, `lora-${randomUUID()}`);
  try {
    await writeFolder(base, dir, bytes, info);
    try {
      await ctx.artifacts.publish(dir, spec.outputName, version);
    } catch (err) {
      // Another delivery of this job published first: that output is this job's output.
      if (!(err instanceof ArtifactExistsError)) throw err;
      const other = await existingOutput(ctx, spec, version, digest);
      if (!other) throw err;
      return { artifact, reused: true, loss: other.final_loss };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { artifact, reused: false, loss: lastLoss };
}

async function resolveBase(ctx: LoraJobContext, spec: LoraJobSpec): Promise<Artifact> {
  const ref = parseModelRef(spec.baseModel);
  if (typeof ref === "string") throw new LoraJobError("base_model", ref);
  let base: Artifact;
  try {
    base = await ctx.artifacts.store.resolve(ref.name, ref.version);
  } catch (err) {
    if (err instanceof ArtifactNotFoundError)
      throw new LoraJobError("base_model", `${spec.baseModel} is not in the artifact store`, {
        cause: err,
      });
    throw err;
  }
  if (base.kind !== "causal-lm")
    throw new LoraJobError("base_model", `${spec.baseModel} is a ${base.kind}, not a causal-lm`);
  // Tenants are walls: another tenant's fine-tuned model is not a base for this one.
  const info = await readLoraInfo(base.dir);
  if (info && info.tenant !== spec.tenant)
    throw new LoraJobError("base_model", `${spec.baseModel} is another tenant's fine-tuned model`);
  return base;
}

/** The info of this job's already-published output; LoraJobError when the version holds another job's. */
async function existingOutput(
  ctx: LoraJobContext,
  spec: LoraJobSpec,
  version: string,
  digest: string,
): Promise<LoraInfo | undefined> {
  let out: Artifact;
  try {
    out = await ctx.artifacts.store.resolve(spec.outputName, version);
  } catch (err) {
    if (err instanceof ArtifactNotFoundError) return undefined;
    throw err;
  }
  const info = await readLoraInfo(out.dir);
  if (info && sameJob(info, spec, digest)) return info;
  throw new LoraJobError(
    "job",
    `${spec.outputName}@${version} was already published from a different spec; submit under a new job id`,
  );
}

/** The base folder's files (its weights replaced by the merged ones) plus the LoRA info file. */
async function writeFolder(
  base: Artifact,
  dir: string,
  model: Uint8Array,
  info: LoraInfo,
): Promise<void> {
  for (const file of Object.keys(base.manifest.files)) {
    if (file === "model.onnx" || file === LORA_INFO_FILE) continue;
    const to = join(dir, ...file.split("/"));
    await mkdir(dirname(to), { recursive: true });
    await copyFile(join(base.dir, ...file.split("/")), to);
  }
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "model.onnx"), model);
  await writeFile(join(dir, LORA_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
}
