import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type ObjectStore, Objm } from "@nats-io/obj";
import {
  ObjectStoreArtifactStore,
  openArtifactBucket,
  publishArtifactToBucket,
} from "@tailor/artifacts";
import { Bus, Events } from "@tailor/bus";
import { create as createModelServer, parseModelServerConfig } from "@tailor/model-server";
import { type LlamaFolder, writeLlamaFolder } from "@tailor/models/testing";
import {
  type LoraJobSpec,
  LoraJobSpecSchema,
  type LoraJobStatus,
  ModelService,
} from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { testNatsUrl, uniquePrefix, waitFor, withTestBusPrefix } from "@tailor/testing";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketLoraArtifacts } from "./artifact-target.js";
import { uploadLoraDataset } from "./dataset.js";
import { LoraWatchTimeoutError } from "./errors.js";
import { LORA_INFO_FILE, type LoraInfo } from "./lora-info.js";
import { targetInitializers } from "./onnx-decoder.js";
import { submitLoraJob, watchLoraJob } from "./protocol.js";
import { loraArtifactVersion } from "./spec.js";
import { ReferenceLoraWorker } from "./worker.js";

const { onnx } = onnxProto;
const prefix = uniquePrefix("lora");
const MODELS = `${prefix}-models`;
const DATASETS = `${prefix}-lora-datasets`;
const EXAMPLES = [
  { prompt: "Q: colour of the sky?", completion: " A: blue" },
  { prompt: "Q: colour of grass?", completion: " A: green" },
  { prompt: "Q: colour of snow?", completion: " A: white" },
];

let root: string;
let bus: Bus;
let models: ObjectStore;
let datasets: ObjectStore;
let base: LlamaFolder;
let worker: ReferenceLoraWorker;
let cleanup: () => Promise<void>;

const jsonl = (rows: unknown[]) =>
  new TextEncoder().encode(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);

async function spec(over: Partial<LoraJobSpec> = {}): Promise<LoraJobSpec> {
  return create(LoraJobSpecSchema, {
    tenant: "acme",
    job: `job-${randomBytes(3).toString("hex")}`,
    baseModel: "tiny-llama@1",
    dataset: await uploadLoraDataset(datasets, DATASETS, "acme", "train.jsonl", jsonl(EXAMPLES)),
    rank: 4,
    alpha: 8,
    targetModules: ["q_proj", "v_proj"],
    steps: 60,
    learningRate: 0.02,
    seed: 7n,
    outputName: "acme-tuned",
    ...over,
  });
}

async function statusesWithin(tenant: string, job: string, timeoutMs: number) {
  const out: LoraJobStatus[] = [];
  for await (const s of watchLoraJob(bus, tenant, job, { timeoutMs })) out.push(s);
  return out;
}

const statuses = (tenant: string, job: string) => statusesWithin(tenant, job, 90_000);

/** Publishes a spec as it is, past submitLoraJob's checks: what a hostile or buggy client can do. */
async function publishRaw(s: LoraJobSpec, subjectTenant = s.tenant): Promise<void> {
  await bus.publish(bus.subjects.lora(subjectTenant, "submitted"), Events.loraSubmitted, s, {
    id: `raw-${randomBytes(8).toString("hex")}`,
    source: "/test",
  });
}

function initializers(bytes: Uint8Array): Map<string, string> {
  const m = onnx.ModelProto.decode(bytes);
  return new Map(
    (m.graph?.initializer ?? []).map((t) => [
      t.name ?? "",
      Buffer.from(onnx.TensorProto.encode(t).finish()).toString("hex"),
    ]),
  );
}

beforeAll(async () => {
  ({ cleanup } = await withTestBusPrefix(prefix));
  root = await mkdtemp(join(tmpdir(), "tailor-lora-"));
  bus = await Bus.connect({ url: testNatsUrl(), name: "lora-test", prefix, failFast: true });
  models = await openArtifactBucket(bus.js, MODELS);
  datasets = await new Objm(bus.js).create(DATASETS);
  base = await writeLlamaFolder({
    dir: join(root, "base"),
    model: {
      layers: 2,
      hidden: 32,
      heads: 4,
      kvHeads: 2,
      intermediate: 48,
      maxPositions: 256,
      ropeTheta: 10000,
      seed: 5,
    },
    tokenizer: { vocabSize: 300 },
  });
  await publishArtifactToBucket(models, base.dir, "tiny-llama", "1");
  worker = new ReferenceLoraWorker({
    bus,
    artifacts: bucketLoraArtifacts(models, MODELS, join(root, "worker-cache")),
    datasets,
    datasetBucket: DATASETS,
    workDir: join(root, "work"),
    logger: createLogger("lora-test"),
    worker: "reference-test",
    // Shorter than a job takes: without the working() heartbeat the broker would redeliver it
    // mid-training and the redelivery test below would count two reuses.
    ackWaitMs: 2500,
    reportEvery: 10,
  });
  await worker.start();
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await bus?.close();
  await cleanup?.();
  await rm(root, { recursive: true, force: true });
});

describe("the LoRA job protocol with the reference worker", () => {
  let job: LoraJobSpec;
  const version = () => loraArtifactVersion("acme", job.job);

  it("accepts, reports progress and publishes a merged decoder that verifies", async () => {
    job = await spec();
    const sent = await submitLoraJob(bus, job);
    expect(sent.duplicate).toBe(false);
    const seen = await statuses("acme", job.job);
    expect(seen[0]).toMatchObject({ state: "accepted", worker: "reference-test" });
    const running = seen.filter((s) => s.state === "running");
    expect(running.map((s) => s.step)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(running.map((s) => s.progress)).toEqual([10, 20, 30, 40, 50, 60].map((n) => n / 60));
    for (const s of running) expect(Number.isFinite(s.loss) && s.loss > 0).toBe(true);
    // It learns: the loss of the last ten steps is well under that of the first ten.
    expect(running.at(-1)!.loss).toBeLessThan(running[0]!.loss * 0.5);
    const done = seen.at(-1)!;
    expect(done).toMatchObject({
      state: "succeeded",
      artifact: `acme-tuned@${version()}`,
      step: 60,
    });

    // A fresh download checks every file's sha256 against the manifest.
    const store = new ObjectStoreArtifactStore(models, join(root, "verify-cache"));
    const out = await store.resolve("acme-tuned", version());
    const baseArt = await store.resolve("tiny-llama", "1");
    expect(out.kind).toBe("causal-lm");
    expect(Object.keys(out.manifest.files).sort()).toEqual(
      [...Object.keys(baseArt.manifest.files), LORA_INFO_FILE].sort(),
    );
    for (const f of ["tokenizer.json", "tokenizer_config.json", "config.json"])
      expect(out.manifest.files[f]).toBe(baseArt.manifest.files[f]);
    const info = JSON.parse(await readFile(join(out.dir, LORA_INFO_FILE), "utf8")) as LoraInfo;
    expect(info).toMatchObject({
      tenant: "acme",
      job: job.job,
      base_model: "tiny-llama@1",
      rank: 4,
      alpha: 8,
      scale: 2,
      target_modules: ["q_proj", "v_proj"],
      steps: 60,
      seed: "7",
    });

    // Exactly the targeted initializers differ from the base.
    const before = initializers(await readFile(join(baseArt.dir, "model.onnx")));
    const after = initializers(await readFile(join(out.dir, "model.onnx")));
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const changed = [...after]
      .filter(([k, v]) => before.get(k) !== v)
      .map(([k]) => k)
      .sort();
    expect(changed).toEqual(targetInitializers(["q_proj", "v_proj"], 2));
    expect(info.merged_initializers).toEqual(changed);
  }, 120_000);

  it("the model-server loads the merged decoder and generates with it", async () => {
    const token = randomBytes(16).toString("hex");
    const config = parseModelServerConfig({
      TAILOR_HOST: "127.0.0.1",
      TAILOR_NATS_URL: testNatsUrl(),
      TAILOR_BUS_PREFIX: prefix,
      TAILOR_MODEL_SERVER_PORT: "0",
      TAILOR_MODEL_SERVER_ADMIN_TOKEN: token,
      TAILOR_MODEL_SERVER_MODEL_DIR: join(root, "model-server"),
      TAILOR_MODEL_SERVER_ARTIFACT_BUCKET: MODELS,
      TAILOR_MODEL_SERVER_DEFAULT_EMBEDDER: "none",
      TAILOR_MODEL_SERVER_INTRA_OP_THREADS: "1",
      TAILOR_MODEL_SERVER_PRELOAD: `tiny-llama@1,acme-tuned@${version()}`,
    });
    const srv = await createModelServer(config, { logger: createLogger("lora-model-server") });
    await srv.start();
    try {
      const client = createClient(
        ModelService,
        createGrpcTransport({ baseUrl: `http://127.0.0.1:${srv.port}` }),
      );
      const t = await client.tokenize({
        model: "acme-tuned",
        version: version(),
        texts: [EXAMPLES[0]!.prompt],
      });
      expect(t.results[0]!.ids.length).toBeGreaterThan(3);
      const generate = async (model: string, version: string) => {
        let text = "";
        let finish = 0;
        const stream = client.generate({
          model,
          version,
          prompt: EXAMPLES[0]!.prompt,
          params: { maxTokens: 12, temperature: 0 },
        });
        for await (const m of stream) {
          expect(m.version).toBe(version);
          text += m.delta;
          finish = m.finishReason;
        }
        expect(finish).toBeGreaterThan(0);
        return text;
      };
      // Trained to answer it: greedy decoding of a training prompt gives its completion, which
      // the base decoder does not.
      const tuned = await generate("acme-tuned", version());
      expect(tuned.startsWith(EXAMPLES[0]!.completion), tuned).toBe(true);
      const untuned = await generate("tiny-llama", "1");
      expect(untuned.startsWith(EXAMPLES[0]!.completion), untuned).toBe(false);
    } finally {
      await srv.destroy();
    }
  }, 120_000);

  it("answers a redelivered submission without a second artifact", async () => {
    // The job outlived the ack wait; the working() heartbeat kept the broker from redelivering it.
    expect(worker.stats).toEqual({ trained: 1, reused: 0, failed: 0 });
    expect((await submitLoraJob(bus, job)).duplicate).toBe(true);
    // Past the broker's duplicate window the same job arrives again as a new message.
    await publishRaw(job);
    await waitFor(() => worker.stats.reused === 1, {
      timeoutMs: 30_000,
      what: "the redelivery handled",
    });
    expect(worker.stats.trained).toBe(1);
    const versions = await new ObjectStoreArtifactStore(models, join(root, "list")).versions(
      "acme-tuned",
    );
    expect(versions).toEqual([version()]);
    // The same job id with another spec is refused, not published over.
    const other = { ...job, steps: 61 };
    await publishRaw(other);
    await waitFor(() => worker.stats.failed >= 1, {
      timeoutMs: 30_000,
      what: "the reused job id refused",
    });
    expect(
      await new ObjectStoreArtifactStore(models, join(root, "list")).versions("acme-tuned"),
    ).toEqual([version()]);
  }, 60_000);

  it("fails malformed, unreadable and cross-tenant jobs naming the field", async () => {
    const globexData = await uploadLoraDataset(
      datasets,
      DATASETS,
      "globex",
      "t.jsonl",
      jsonl(EXAMPLES),
    );
    const badLine = await uploadLoraDataset(
      datasets,
      DATASETS,
      "acme",
      "bad.jsonl",
      jsonl([EXAMPLES[0], EXAMPLES[1], { prompt: "x" }]),
    );
    // [spec, error prefix, whether the worker got as far as accepting it, subject tenant]
    const cases: [LoraJobSpec, string, boolean, string?][] = [
      [await spec({ rank: 0 }), "rank:", false],
      [await spec({ targetModules: ["q_proj", "qkv"] }), "target_modules[1]:", false],
      [await spec({ learningRate: Number.NaN }), "learning_rate:", false],
      [await spec({ baseModel: "tiny-llama" }), "base_model:", false],
      [
        await spec({ baseModel: "nope@1" }),
        "base_model: nope@1 is not in the artifact store",
        true,
      ],
      [await spec({ dataset: badLine }), "dataset line 3: completion: must be a string", true],
      // Tenants are walls: another tenant's dataset, subject, or fine-tuned model.
      [await spec({ dataset: globexData }), "dataset.name:", false],
      [await spec(), "tenant:", false, "globex"],
      [
        await spec({ tenant: "globex", dataset: globexData, baseModel: `acme-tuned@${version()}` }),
        "base_model: acme-tuned@",
        true,
      ],
    ];
    for (const [s, error, accepted, subjectTenant] of cases) {
      await publishRaw(s, subjectTenant);
      const seen = await statuses(subjectTenant ?? s.tenant, s.job);
      expect(
        seen.map((x) => x.state),
        error,
      ).toEqual(accepted ? ["accepted", "failed"] : ["failed"]);
      expect(seen.at(-1)!.error.startsWith(error), seen.at(-1)!.error).toBe(true);
    }
    expect(worker.stats.trained).toBe(1);
  }, 120_000);

  it("stops watching with LoraWatchTimeoutError when no terminal status comes", async () => {
    await expect(statusesWithin("acme", "never-submitted", 300)).rejects.toBeInstanceOf(
      LoraWatchTimeoutError,
    );
  }, 120_000);
});
