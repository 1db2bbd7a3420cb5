import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import type { StreamKey } from "@tailor/bus";
import { Events } from "@tailor/bus";
import { buildCli, runCli } from "@tailor/cli";
import {
  CISI_TENANT,
  cisiTrecFiles,
  HELDOUT_SET,
  ingestCisi,
  type LoopClients,
  loopClients,
  loopTurn,
  MODEL,
  TRAIN_SET,
  type TurnResult,
} from "@tailor/deploy-local";
import { loadCisi } from "@tailor/eval";
import {
  JobState,
  ModelPromotedSchema,
  ModelRejectedSchema,
  ModelRolledBackSchema,
  ModelTrainedSchema,
  SearchMode,
  VersionState,
} from "@tailor/proto";
import { type Harness, startHarness, streamMessages, testNatsUrl } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The whole customisation loop on CISI with every service as a process over real NATS and
 * PostgreSQL: baseline → eval.regressed → training.requested → candidate → gate on the held-out
 * (even) queries → model.promoted (canary, then prod) → search at prod uses it → rollback.
 */
describe("the customisation loop on CISI", () => {
  let h: Harness;
  let c: LoopClients;
  let dir: string;
  let env: Record<string, string>;
  let turn: TurnResult;
  const cisi = loadCisi();
  const tenant = CISI_TENANT;
  const tailor = (...args: string[]) => runCli(args, { env, cwd: dir, timeoutMs: 600_000 });
  const probe = cisi.queries.filter((q) => cisi.qrels.has(q.id) && Number(q.id) % 2 === 0);

  const events = (key: StreamKey) => streamMessages(h.bus, key);
  const rankings = async (at: { version?: string; alias?: string }) => {
    const out: string[][] = [];
    for (const q of probe.slice(0, 8)) {
      const r = await c.retrieval.search({
        tenant,
        query: q.text,
        k: 10,
        mode: SearchMode.HYBRID,
        ...at,
      });
      out.push(r.hits.map((x) => x.documentId));
    }
    return out;
  };

  beforeAll(async () => {
    const [harness] = await Promise.all([
      startHarness(
        "loop",
        {
          // The loop's mechanics are under test here; whether training truly wins on CISI is the
          // flywheel benchmark's question. A lenient p-value keeps this independent of it.
          TAILOR_EVALUATOR_GATE_MAX_P_VALUE: "0.5",
          TAILOR_EVALUATOR_GATE_MIN_GAIN: "0.001",
          TAILOR_TRAINER_CHECKPOINT_MS: "500",
          TAILOR_TRAINER_LEASE_MS: "3000",
          TAILOR_TRAINER_HEARTBEAT_MS: "1000",
        },
        {
          services: [
            "ingestion",
            "embedding",
            "retrieval",
            "model-server",
            "registry",
            "trainer",
            "evaluator",
          ],
        },
      ),
      buildCli(),
    ]);
    h = harness;
    c = loopClients((s) => h.stack.url(s));
    dir = await mkdtemp(join(tmpdir(), "tailor-loop-"));
    env = {
      TAILOR_NATS_URL: testNatsUrl(),
      TAILOR_BUS_PREFIX: h.prefix,
      TAILOR_INGESTION_URL: h.stack.url("ingestion"),
      TAILOR_RETRIEVAL_URL: h.stack.url("retrieval"),
      TAILOR_MODEL_SERVER_URL: h.stack.url("model-server"),
      TAILOR_REGISTRY_URL: h.stack.url("registry"),
      TAILOR_TRAINER_URL: h.stack.url("trainer"),
      TAILOR_EVALUATOR_URL: h.stack.url("evaluator"),
    };
    await ingestCisi(h.bus, c, { cisi });
  }, 900_000);
  afterAll(async () => {
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("imports the odd (train) and even (held-out) judged queries with `tailor evalset import`", async () => {
    for (const [name, parity] of [
      [TRAIN_SET, "odd"],
      [HELDOUT_SET, "even"],
    ] as const) {
      const f = cisiTrecFiles(cisi, parity);
      await writeFile(join(dir, `${parity}.tsv`), f.topics);
      await writeFile(join(dir, `${parity}.qrels`), f.qrels);
      const r = await tailor(
        "evalset",
        "import",
        "--tenant",
        tenant,
        "--name",
        name,
        "--topics",
        `${parity}.tsv`,
        "--qrels",
        `${parity}.qrels`,
        "--json",
      );
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const set = JSON.parse(r.stdout) as { queryCount: number };
      expect(set.queryCount).toBe(f.topics.split("\n").length);
    }
  }, 120_000);

  it("a regression triggers training, the gate promotes the candidate and search at prod uses it", async () => {
    const baseline = await rankings({ alias: "prod" });
    turn = await loopTurn(c, { kind: "reranker", tenant });
    expect(turn.job.version).toMatch(/^retrieval@v\d+$/);
    expect(turn.promoted).toBe(true);
    expect(turn.prod).toBe(turn.job.version);
    expect(turn.report?.verdict).toBe("pass");

    // Through events: regressed → requested → trained → promoted (canary, then prod).
    const evalEvents = await events("EVAL");
    expect(evalEvents.some((e) => e.subject === `eval.${tenant}.regressed`)).toBe(true);
    const training = await events("TRAINING");
    expect(training.some((e) => e.subject === `training.${tenant}.requested`)).toBe(true);
    expect(training.some((e) => e.subject === `training.${tenant}.succeeded`)).toBe(true);
    const model = await events("MODEL");
    const trained = model
      .filter((e) => e.subject === `model.${tenant}.trained`)
      .map((e) => fromBinary(ModelTrainedSchema, e.data));
    expect(trained.map((t) => t.version)).toContain(turn.job.version);
    const promoted = model
      .filter((e) => e.subject === `model.${tenant}.promoted`)
      .map((e) => fromBinary(ModelPromotedSchema, e.data))
      .filter((p) => p.version === turn.job.version);
    expect(promoted.map((p) => p.alias)).toEqual(["canary", "prod"]);

    // Through lineage: parent, job, data and the report that promoted it.
    const show = await tailor("models", "show", "--tenant", tenant, turn.job.version, "--json");
    expect(show.code).toBe(0);
    const lineage = (JSON.parse(show.stdout) as { lineage: Record<string, unknown> }).lineage;
    expect(lineage["parentVersion"]).toBe(turn.baseline.version);
    expect(lineage["trainingJob"]).toBe(turn.job.id);
    expect(String(lineage["datasetHash"])).toMatch(/^[0-9a-f]{64}$/);
    expect(lineage["reports"]).toContain(turn.report!.id);

    // Through search: the alias now serves the candidate, which ranks differently.
    const r = await c.retrieval.search({ tenant, query: probe[0]!.text, k: 5, alias: "prod" });
    expect(r.version).toBe(turn.job.version);
    const after = await rankings({ alias: "prod" });
    expect(after).not.toEqual(baseline);
    expect(await rankings({ version: turn.baseline.version })).toEqual(baseline);

    const ev = await tailor(
      "eval",
      "--tenant",
      tenant,
      "--evalset",
      HELDOUT_SET,
      "--alias",
      "prod",
    );
    expect(ev.code).toBe(0);
    const metrics = JSON.parse(ev.stdout) as { version: string; metrics: Record<string, number> };
    expect(metrics.version).toBe(turn.job.version);
  }, 900_000);

  it("`tailor models rollback` restores the old version at prod", async () => {
    const r = await tailor("models", "rollback", "--tenant", tenant, "--model", MODEL);
    expect(r.code).toBe(0);
    const prod = await c.registry.resolveAlias({ tenant, model: MODEL, alias: "prod" });
    expect(prod.alias?.version).toBe(turn.baseline.version);
    const s = await c.retrieval.search({ tenant, query: probe[0]!.text, k: 5, alias: "prod" });
    expect(s.version).toBe(turn.baseline.version);
    const rolled = (await events("MODEL"))
      .filter((e) => e.subject === `model.${tenant}.rolled_back`)
      .map((e) => fromBinary(ModelRolledBackSchema, e.data));
    expect(rolled.at(-1)).toMatchObject({
      alias: "prod",
      version: turn.baseline.version,
      rolledBackVersion: turn.job.version,
    });
  }, 120_000);

  it("a planted worse candidate is rejected and never served", async () => {
    const base = await c.registry.getVersion({ tenant, version: turn.baseline.version });
    const spec = base.version!.spec!;
    // Dense side alone with averaged word vectors: far below the keyword side on CISI.
    const planted = await c.registry.registerVersion({
      tenant,
      model: MODEL,
      spec: { ...spec, denseWeight: 1, rm3Docs: 0, reranker: undefined },
      lineage: { parentVersion: base.version!.version, kind: "retrieval-params" },
    });
    const version = planted.version!.version;
    await h.bus.publish(
      h.bus.subjects.model(tenant, "trained"),
      Events.modelTrained,
      create(ModelTrainedSchema, {
        tenant,
        model: MODEL,
        version,
        parentVersion: base.version!.version,
        job: "planted",
        kind: "retrieval-params",
        evalSet: TRAIN_SET,
        heldoutEvalSet: HELDOUT_SET,
      }),
      { id: `planted-${version}`, source: "/tests/loop" },
    );
    let state = VersionState.CANDIDATE;
    for (let i = 0; i < 600 && state === VersionState.CANDIDATE; i++) {
      state = (await c.registry.getVersion({ tenant, version })).version!.state;
      if (state === VersionState.CANDIDATE) await new Promise((r) => setTimeout(r, 250));
    }
    expect(state).toBe(VersionState.REJECTED);
    const rejected = (await events("MODEL"))
      .filter((e) => e.subject === `model.${tenant}.rejected`)
      .map((e) => fromBinary(ModelRejectedSchema, e.data));
    expect(rejected.map((x) => x.version)).toContain(version);
    for (const alias of ["prod", "canary"]) {
      const a = await c.registry
        .resolveAlias({ tenant, model: MODEL, alias })
        .catch(() => undefined);
      expect(a?.alias?.version).not.toBe(version);
    }
    for (let i = 0; i < 20; i++) {
      const s = await c.retrieval.search({
        tenant,
        query: probe[i]!.text,
        k: 3,
        routingKey: `u${i}`,
      });
      expect(s.version).not.toBe(version);
    }
  }, 600_000);

  it("a trainer SIGKILLed mid-job resumes from its checkpoint and ends as an uninterrupted run does", async () => {
    const start = (requestId: string) =>
      c.trainer.startTraining({
        tenant,
        kind: "adapter",
        evalSet: TRAIN_SET,
        heldoutEvalSet: HELDOUT_SET,
        baseVersion: turn.baseline.version,
        seed: 11n,
        requestId,
      });
    const done = async (id: string) => {
      for (let i = 0; i < 2400; i++) {
        const j = (await c.trainer.getJob({ tenant, id })).job!;
        if ([JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED].includes(j.state)) return j;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`job ${id} did not end`);
    };
    const killed = (await start("resume-killed")).job!;
    // Kill it while it trains the adapter, after a checkpoint (every 500 ms here).
    for (let i = 0; ; i++) {
      const j = (await c.trainer.getJob({ tenant, id: killed.id })).job!;
      expect(j.state, `job ended before it could be killed: ${j.error}`).not.toBe(
        JobState.SUCCEEDED,
      );
      if (j.state === JobState.RUNNING && /epoch/.test(j.stage)) break;
      if (i > 2400) throw new Error("the adapter job never reached training");
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1500));
    await h.stack.kill("trainer");
    h.stack.startService("trainer");
    await h.stack.waitHealthy(120_000, ["trainer"]);
    const resumed = await done(killed.id);
    expect(resumed.state, resumed.error).toBe(JobState.SUCCEEDED);
    expect(resumed.resumes).toBeGreaterThanOrEqual(1);

    const clean = await done((await start("resume-clean")).job!.id);
    expect(clean.state, clean.error).toBe(JobState.SUCCEEDED);
    expect(clean.resumes).toBe(0);
    const spec = async (v: string) =>
      (await c.registry.getVersion({ tenant, version: v })).version!.spec!;
    const [a, b] = [await spec(resumed.version), await spec(clean.version)];
    // Same seed, same data: the same adapter (its embedder version is its content hash).
    expect(a.embedder).not.toBe(turn.baseline.version);
    expect(a.embedder).toBe(b.embedder);
    expect(resumed.datasetHash).toBe(clean.datasetHash);
    expect(resumed.metrics).toEqual(clean.metrics);
  }, 900_000);
});
