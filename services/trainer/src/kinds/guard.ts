import { createHash } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setImmediate as yieldNow } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ArtifactExistsError } from "@tailor/artifacts";
import { InjectionClassifier, readInjectionCorpus } from "@tailor/guard";
import { LineageSchema } from "@tailor/proto";
import type { TrainerContext } from "../context.js";
import type { JobRow } from "../jobs/job-view.js";
import type { JobEnv, JobOutcome } from "../jobs/runner.js";
import { decodeCheckpoint, encodeCheckpoint, type JobCheckpoint } from "./checkpoint.js";
import { seed32 } from "./execute.js";
import {
  buildGuardDataset,
  type GuardMetrics,
  measureGuard,
  promotionProblem,
} from "./guard-data.js";
import { readTenantGuardEvents } from "./guard-events.js";

/** The registry model whose versions are a tenant's trained injection classifiers. */
const GUARD_MODEL = "guard";
/** Files of a published classifier (beside config.json, which names its kind). */
const CLASSIFIER_FILE = "classifier.json";
const TRAINING_FILE = "training.json";

/**
 * Trains a tenant's injection classifier: the shared injection data split by the job's seed,
 * plus the tenant's flagged questions (positives), reported false positives and ordinary
 * questions (negatives) read from the bus. The classifier is measured on the held-out part against the heuristics alone,
 * published to the artifact store, and registered as a version of model `guard`; it is promoted
 * to prod when its held-out recall is at least the heuristics' at a false-positive rate of at
 * most 5% (overall, and on the tenant's own held-out questions), else rejected with the reason. Either way the job succeeds with the version and its
 * metrics; no `model.trained` is published (the evaluator judges retrieval versions only).
 */
export async function executeGuardJob(
  ctx: TrainerContext,
  job: JobRow,
  env: JobEnv,
): Promise<JobOutcome> {
  const seed = seed32(job.seed);
  const { dataDir, maxEvents, epochs } = ctx.config.guard;
  env.report(0.02, "guard: reading the injection data");
  const corpus = await readInjectionCorpus(dataDir).catch((err: unknown) => {
    throw new ConnectError(
      `the injection data at ${dataDir} (TAILOR_TRAINER_GUARD_DATA_DIR) cannot be read: ${(err as Error).message}`,
      Code.FailedPrecondition,
    );
  });
  env.report(0.05, "guard: reading the tenant's flagged questions and false positives");
  const events = await readTenantGuardEvents(ctx.bus, job.tenant, {
    maxEvents,
    signal: env.signal,
    logger: env.logger,
  });
  if (events.read.truncated)
    env.logger.warn(
      { maxEvents },
      "the tenant has more events than a guard job reads: the oldest were used",
    );
  const data = buildGuardDataset(corpus, events, seed);
  const parent = await parentVersion(ctx, job, env.signal);
  await env.pin({ datasetHash: data.hash, baseVersion: parent });
  const saved = decodeCheckpoint(await env.loadCheckpoint());
  const done = saved?.datasetHash === data.hash ? saved.guard?.registered : undefined;
  env.report(0.15, `guard: training on ${data.train.length} examples`, data.counts);
  await yieldNow();
  const classifier = InjectionClassifier.train(data.train, { seed, epochs });
  env.signal.throwIfAborted();
  env.report(0.6, "guard: measuring on the held-out examples");
  await yieldNow();
  const m = measureGuard(classifier, data.positives, data.negatives);
  const metrics: Record<string, number> = {
    ...data.counts,
    guard_events_interactions: events.read.interactions,
    guard_events_feedback: events.read.feedback,
    guard_events_truncated: events.read.truncated ? 1 : 0,
    guard_recall: m.recall,
    guard_fpr: m.fpr,
    guard_heuristic_recall: m.heuristicRecall,
    guard_heuristic_fpr: m.heuristicFpr,
    guard_classifier_recall: m.classifierRecall,
    guard_classifier_fpr: m.classifierFpr,
    guard_tenant_fpr: m.tenantFpr,
  };
  env.report(0.7, "guard: publishing the classifier", metrics);
  const artifact = await publishClassifier(ctx, job, classifier, metrics, data.hash);
  env.report(0.85, "guard: registering the version", metrics);
  let version = done;
  if (!version) {
    const registered = await ctx.remote.registerVersion(
      job.tenant,
      GUARD_MODEL,
      undefined,
      create(LineageSchema, {
        parentVersion: parent,
        trainingJob: job.id,
        datasetHash: data.hash,
        kind: "guard",
        artifacts: [artifact],
        seed: BigInt(job.seed),
      }),
      env.signal,
    );
    version = registered.version;
    const cp: JobCheckpoint = {
      format: 1,
      datasetHash: data.hash,
      base: parent,
      guard: { registered: version },
    };
    await env.saveCheckpoint(encodeCheckpoint(cp));
  }
  const problem = promotionProblem(m, data.positives.length);
  if (problem) {
    env.report(0.95, "guard: rejecting the candidate", metrics);
    await ctx.remote.rejectVersion(
      job.tenant,
      version,
      `training job ${job.id}: ${problem}`,
      env.signal,
    );
    env.logger.info({ version, problem }, "guard classifier rejected");
  } else {
    env.report(0.95, "guard: promoting the candidate to prod", metrics);
    await ctx.remote.promote(
      job.tenant,
      version,
      `training job ${job.id}: ${summary(m)}`,
      env.signal,
    );
    env.logger.info({ version }, "guard classifier promoted to prod");
  }
  metrics["guard_promoted"] = problem ? 0 : 1;
  return { version, metrics };
}

function summary(m: GuardMetrics): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return `held-out recall ${pct(m.recall)} (heuristics ${pct(m.heuristicRecall)}) at a false-positive rate of ${pct(m.fpr)}`;
}

/** The version named by the job, else the tenant's current prod guard (empty when none). */
async function parentVersion(ctx: TrainerContext, job: JobRow, signal: AbortSignal) {
  if (job.base_version)
    return (await ctx.remote.getVersion(job.tenant, job.base_version, signal)).version;
  return (await ctx.remote.resolveAlias(job.tenant, GUARD_MODEL, "prod", signal))?.version ?? "";
}

/**
 * Writes the classifier as a model folder (config.json naming its format, the weights, how it
 * was trained) and publishes it; named by its weights, so a resumed job finds its own artifact.
 * Returns `name@version`.
 */
async function publishClassifier(
  ctx: TrainerContext,
  job: JobRow,
  classifier: InjectionClassifier,
  metrics: Record<string, number>,
  datasetHash: string,
): Promise<string> {
  const weights = `${JSON.stringify(classifier.toJSON())}\n`;
  const name = `guard-${job.tenant}`.slice(0, 128);
  const version = createHash("sha256").update(weights).digest("hex").slice(0, 16);
  const dir = join(ctx.config.workDir, job.id, "guard");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const config = {
    tailor_kind: "classifier",
    tailor_format: "guard-injection-logreg",
    name,
    version,
  };
  await writeFile(join(dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(dir, CLASSIFIER_FILE), weights);
  const training = { job: job.id, seed: job.seed, dataset_hash: datasetHash, metrics };
  await writeFile(join(dir, TRAINING_FILE), `${JSON.stringify(training, null, 2)}\n`);
  await ctx.remote.publishModel(dir, name, version).catch((err: unknown) => {
    if (!(err instanceof ArtifactExistsError)) throw err;
  });
  await rm(join(ctx.config.workDir, job.id), { recursive: true, force: true });
  return `${name}@${version}`;
}
