import { join } from "node:path";
import { type ObjectStore, Objm } from "@nats-io/obj";
import {
  ObjectStoreArtifactStore,
  openArtifactBucket,
  publishArtifactToBucket,
} from "@tailor/artifacts";
import type { Bus } from "@tailor/bus";
import { ragPrompt } from "@tailor/clients";
import { bucketLoraArtifacts, loraArtifactVersion, ReferenceLoraWorker } from "@tailor/lora";
import { writeLlamaFolder } from "@tailor/models/testing";
import { type Job, JobState } from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeRemote } from "../testing/fake-remote.js";
import { startTestTrainer, type TestTrainer } from "../testing/test-trainer.js";

// Kind lora end to end over real NATS and PostgreSQL: the trainer writes the examples, the
// reference worker (docs/lora.md) fine-tunes a tiny decoder, the trainer registers the result.
let t: TestTrainer;
let remote: FakeRemote;
let bus: Bus;
let client: TestTrainer["client"];
let models: ObjectStore;
let worker: ReferenceLoraWorker;

beforeAll(async () => {
  t = await startTestTrainer("trainerlora", {
    remote: { docs: 60, dims: 8, topics: 6 },
    env: {
      TAILOR_TRAINER_LORA_RANK: "4",
      TAILOR_TRAINER_LORA_STEPS: "20",
      TAILOR_TRAINER_LORA_LEARNING_RATE: "0.02",
      TAILOR_TRAINER_LORA_ACCEPT_MS: "4000",
    },
  });
  ({ remote, bus, client } = t);
  const datasetBucket = t.config.lora.datasetBucket;
  expect(datasetBucket).toBe(`${t.prefix}-lora-datasets`);
  const bucket = `${t.prefix}-models`;
  models = await openArtifactBucket(bus.js, bucket);
  const base = await writeLlamaFolder({
    dir: join(t.dir, "base"),
    model: {
      layers: 1,
      hidden: 16,
      heads: 2,
      kvHeads: 1,
      intermediate: 24,
      maxPositions: 1024,
      ropeTheta: 10000,
      seed: 3,
    },
    tokenizer: { vocabSize: 300 },
  });
  await publishArtifactToBucket(models, base.dir, "tiny-llama", "1");
  worker = new ReferenceLoraWorker({
    bus,
    artifacts: bucketLoraArtifacts(models, bucket, join(t.dir, "worker-cache")),
    datasets: await new Objm(bus.js).create(datasetBucket),
    datasetBucket,
    workDir: join(t.dir, "worker"),
    logger: createLogger("trainer-lora-test", "silent"),
    worker: "reference-test",
    reportEvery: 5,
    // Four retrieved passages make prompts of about 900 tokens of the tiny tokenizer.
    limits: { maxSeqTokens: 1024 },
  });
  await worker.start();
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await t?.close();
});

/** Starts a lora job and follows it to its end; every state seen. */
async function run(tenant: string, o: { evalSet?: string; baseVersion?: string } = {}) {
  const started = await client.startTraining({
    tenant,
    kind: "lora",
    evalSet: o.evalSet ?? "qa",
    baseVersion: o.baseVersion ?? "",
    seed: 7n,
  });
  const seen: Job[] = [];
  for await (const r of client.watchJob({ tenant, id: started.job!.id })) seen.push(r.job!);
  return seen;
}

describe("trainer kind lora (the external LoRA worker's contract)", () => {
  it("fine-tunes the prod generator on the eval set's answers and registers the merged decoder", async () => {
    const seen = await run("acme");
    const last = seen.at(-1)!;
    expect(last.state, last.error).toBe(JobState.SUCCEEDED);
    // The worker's steps are the job's progress.
    expect(seen.some((j) => /^lora: running step \d+ on reference-test$/.test(j.stage))).toBe(true);
    expect(last.metrics["lora_examples"]).toBe(6);
    expect(last.metrics["lora_steps"]).toBe(20);
    expect(last.metrics["lora_loss"]).toBeGreaterThan(0);

    const reg = remote.registered.find((r) => r.version === last.version)!;
    expect(reg.version).toMatch(/^generator@v\d+$/);
    const artifact = `tiny-llama-acme@${loraArtifactVersion("acme", last.id)}`;
    expect(reg.generator).toMatchObject({ kind: "onnx", model: artifact, maxTokens: 16 });
    expect(reg.lineage).toMatchObject({
      parentVersion: "generator@v1",
      trainingJob: last.id,
      kind: "lora",
      artifacts: [artifact],
      seed: 7n,
    });
    expect(reg.lineage.datasetHash).toMatch(/^[0-9a-f]{64}$/);
    // Not promoted: generators have no automatic gate.
    expect(remote.promoted).not.toContain(last.version);

    // The merged decoder is in the store the model-server reads, and verifies.
    const store = new ObjectStoreArtifactStore(models, join(t.dir, "verify-cache"));
    const out = await store.resolve("tiny-llama-acme", loraArtifactVersion("acme", last.id));
    expect(out.kind).toBe("causal-lm");

    // The examples are the prompts the gateway would send, rendered by the same code.
    const datasets = await new Objm(bus.js).open(`${t.prefix}-lora-datasets`);
    const text = new TextDecoder().decode((await datasets.getBlob(`acme/${last.id}.jsonl`))!);
    const rows = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { prompt: string; completion: string });
    expect(rows).toHaveLength(6);
    const qa = await remote.getEvalSet("acme", "qa");
    const q0 = qa.queries[0]!;
    const hits = (await remote.search({ query: q0.text, k: 4 })).hits;
    expect(hits).toHaveLength(4);
    expect(rows[0]).toEqual({
      prompt: ragPrompt("C: {{context}}\nQ: {{question}}\nA:", {
        passages: hits.map((h, n) => ({ number: n + 1, title: h.title, text: h.text })),
        question: q0.text,
      }),
      completion: ` ${q0.answer}`,
    });
    expect(rows[0]!.prompt).toContain("[1] ");
  }, 120_000);

  it("refuses a base that is not an onnx generator, and a set without answers, naming why", async () => {
    const extractive = (await run("acme", { baseVersion: "generator@v2" })).at(-1)!;
    expect(extractive.state).toBe(JobState.FAILED);
    expect(extractive.error).toMatch(/generator@v2 is a generator of kind extractive/);
    const unanswered = (await run("initech", { evalSet: "train" })).at(-1)!;
    expect(unanswered.state).toBe(JobState.FAILED);
    expect(unanswered.error).toMatch(/eval set train holds no reference answers/);
    await expect(
      client.startTraining({
        tenant: "acme",
        kind: "lora",
        evalSet: "qa",
        baseVersion: "retrieval@v1",
      }),
    ).rejects.toThrow(/base_version: must be a version of generator/);
    await expect(
      client.startTraining({ tenant: "acme", kind: "lora", evalSet: "qa", heldoutEvalSet: "x" }),
    ).rejects.toThrow(/heldout_eval_set: must be empty for kind lora/);
  }, 60_000);

  it("fails a job no worker takes, saying so", async () => {
    await worker.stop();
    const last = (await run("hooli")).at(-1)!;
    expect(last.state).toBe(JobState.FAILED);
    expect(last.error).toMatch(/no LoRA worker took job .* within 4000 ms: is one running\?/);
  }, 60_000);
});
