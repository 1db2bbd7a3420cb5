import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { ArtifactExistsError } from "@tailor/artifacts";
import { parseEmbedderRef } from "@tailor/clients";
import {
  AdapterTrainer,
  type AdapterTrainingOptions,
  type PairSource,
  writeAdapterModelFolder,
} from "@tailor/train";
import { packState, unpackState } from "./checkpoint.js";
import type { StageEnv } from "./execute.js";
import { adapterPairs } from "./pairs.js";

/** Texts per Embed call. */
const EMBED_BATCH = 128;
/** Pairs the source hands out between two turns of the event loop (heartbeats, saves). */
const YIELD_EVERY = 64;
const MIN_PAIRS = 20;

/**
 * Trains an embedding adapter after the base embedder: pairs from the corpus and the labels,
 * embedded at the base's exact version, trained with InfoNCE (AdapterTrainer), checkpointed at
 * step boundaries so a killed trainer resumes bit-identically, exported as an ONNX model folder
 * named by its content hash, published to the artifact store, loaded on the model-server
 * chained after its base, and the tenant's index built at it. Returns the adapter's exact
 * embedder name, the candidate's `embedder`.
 */
export async function trainAdapterStage(
  s: StageEnv,
): Promise<{ embedder: string; metrics: Record<string, number> }> {
  const done = s.checkpoint.adapter?.done;
  if (done) return done;
  const { ctx, env, job } = s;
  const base = s.baseSpec.embedder;
  const ref = parseEmbedderRef(base);
  if (typeof ref === "string" || !ref.version)
    throw new ConnectError(
      `base ${s.base.version} names no exact embedder (${base})`,
      Code.FailedPrecondition,
    );
  const pairs = adapterPairs(s.corpus.chunks, s.train, {
    seed: s.seed,
    maxPairs: ctx.config.adapter.maxPairs,
  });
  if (pairs.length < MIN_PAIRS)
    throw new ConnectError(
      `only ${pairs.length} adapter pairs in the corpus and labels (at least ${MIN_PAIRS} needed)`,
      Code.FailedPrecondition,
    );
  // Each distinct text is embedded once; the pairs point into one packed array.
  const textIndex = new Map<string, number>();
  const texts: string[] = [];
  const idx = (t: string) => {
    let i = textIndex.get(t);
    if (i === undefined) {
      i = texts.length;
      texts.push(t);
      textIndex.set(t, i);
    }
    return i;
  };
  const pairIdx = pairs.map((p) => [idx(p.query), idx(p.positive)] as const);
  textIndex.clear();
  let dims = 0;
  let vectors = new Float32Array(0);
  for (let i = 0; i < texts.length; i += EMBED_BATCH) {
    env.signal.throwIfAborted();
    const r = await ctx.remote.embed(base, texts.slice(i, i + EMBED_BATCH), env.signal);
    if (dims === 0) {
      dims = r.dimensions;
      vectors = new Float32Array(texts.length * dims);
    } else if (r.dimensions !== dims)
      throw new ConnectError(
        `${base} changed dimensions mid-job (${dims} → ${r.dimensions})`,
        Code.Internal,
      );
    vectors.set(r.vectors, i * dims);
    s.progress(
      (0.25 * Math.min(texts.length, i + EMBED_BATCH)) / texts.length,
      `adapter: embedding ${Math.min(texts.length, i + EMBED_BATCH)}/${texts.length} texts`,
    );
  }
  const row = (i: number) => vectors.subarray(i * dims, (i + 1) * dims);
  const source: PairSource = async function* () {
    for (let i = 0; i < pairIdx.length; i++) {
      if (i % YIELD_EVERY === 0) await new Promise<void>((r) => setImmediate(r));
      const [q, p] = pairIdx[i]!;
      yield { query: row(q), positive: row(p) };
    }
  };
  const maxEpochs = ctx.config.adapter.maxEpochs;
  const options: AdapterTrainingOptions = {
    dims,
    seed: s.seed,
    architecture:
      ctx.config.adapter.architecture === "linear"
        ? { kind: "linear" }
        : { kind: "residual", hidden: dims, activation: "relu" },
    lr: 2e-3,
    batchSize: 64,
    maxEpochs,
    patience: 3,
    temperature: 0.05,
    heldOutFraction: 0.15,
  };
  // Snapshots are taken synchronously between steps and written one at a time behind training.
  let saving: Promise<void> = Promise.resolve();
  let lastSave = Date.now();
  let trainer: AdapterTrainer;
  const saveState = () => {
    const state = packState(trainer.state());
    s.checkpoint.adapter = { state };
    saving = saving.then(() => s.save());
    return saving;
  };
  const onStep = (p: { step: number; epoch: number; loss: number }) => {
    s.progress(
      0.25 + (0.6 * p.epoch) / maxEpochs,
      `adapter: epoch ${p.epoch + 1}/${maxEpochs} step ${p.step}`,
      { adapter_loss: p.loss },
    );
    if (Date.now() - lastSave >= ctx.config.checkpointMs) {
      lastSave = Date.now();
      void saveState().catch(() => {});
    }
  };
  const saved = s.checkpoint.adapter?.state;
  if (saved)
    env.logger.info(
      { step: saved.step, epoch: saved.epoch },
      "adapter training resumed from its checkpoint",
    );
  trainer = saved
    ? AdapterTrainer.resume(unpackState(saved), onStep)
    : new AdapterTrainer(options, onStep);
  const result = await trainer.train(source, env.signal);
  await saveState();
  env.signal.throwIfAborted();
  if (result.status !== "completed") throw new Error("adapter training stopped before it ended");
  s.progress(0.86, "adapter: exporting");
  const name = `${ref.model}-${job.tenant}-adapter`.slice(0, 128);
  const dir = join(ctx.config.workDir, job.id, "adapter");
  await rm(dir, { recursive: true, force: true });
  await writeAdapterModelFolder(dir, {
    spec: result.spec,
    params: result.params,
    base,
    name,
    training: {
      job: job.id,
      seed: job.seed,
      pairs: pairs.length,
      best_epoch: result.bestEpoch,
      initial_held_out_loss: result.initialHeldOutLoss,
      best_held_out_loss: result.bestHeldOutLoss,
    },
  });
  // Named by its weights: the same training gives the same version, so a resumed job that
  // publishes again finds its own artifact already there.
  const version = createHash("sha256")
    .update(await readFile(join(dir, "model.onnx")))
    .digest("hex")
    .slice(0, 16);
  await ctx.remote.publishModel(dir, name, version).catch((err: unknown) => {
    if (!(err instanceof ArtifactExistsError)) throw err;
  });
  s.progress(0.9, "adapter: loading on the model-server");
  const embedder = await ctx.remote.loadModel(name, version, base, env.signal);
  if (embedder !== `${name}@${version}`)
    throw new ConnectError(
      `model-server loaded ${embedder}, not ${name}@${version}`,
      Code.Internal,
    );
  s.progress(0.92, "adapter: building the index version");
  await ctx.remote.buildIndexVersion(job.tenant, embedder, env.signal);
  await rm(join(ctx.config.workDir, job.id), { recursive: true, force: true });
  const metrics = {
    adapter_pairs: pairs.length,
    adapter_dims: dims,
    adapter_best_epoch: result.bestEpoch,
    adapter_steps: result.steps,
    adapter_initial_held_out_loss: result.initialHeldOutLoss,
    adapter_best_held_out_loss: result.bestHeldOutLoss,
  };
  s.checkpoint.adapter = { done: { embedder, metrics } };
  await s.save();
  return { embedder, metrics };
}
