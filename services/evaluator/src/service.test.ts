import { create, fromBinary } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Bus, StreamKey } from "@tailor/bus";
import { Events } from "@tailor/bus";
import { sql } from "@tailor/db";
import {
  EvalCompletedSchema,
  EvalRegressedSchema,
  EvaluatorService,
  FeedbackReceivedSchema,
  ModelTrainedSchema,
  TrainingRequestedSchema,
} from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import {
  createTestDatabase,
  rpcError,
  type TestDatabase,
  testNatsUrl,
  uniquePrefix,
  waitFor,
  withTestBusPrefix,
} from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEvaluatorConfig } from "./config.js";
import { create as createService, type EvaluatorServiceHandle } from "./service.js";
import { FakeRegistry, fakeRetrieval } from "./test-fakes.js";

const IDS = ["1", "2", "3", "4", "5", "6", "7", "8"];
const TOPICS = IDS.map((i) => `${i}\tquery number ${i}`).join("\n");
const QRELS = IDS.map((i) => `${i} 0 d${i} 1`).join("\n");
const target = (q: string) => `d${q.split(" ").pop()}`;
const noise = ["n1", "n2", "n3", "n4"];
const TENANTS = ["acme", "gate", "loop", "fb", "sched", "soak"];

/** v1 finds the relevant document 5th, v2 (and v4) first, v3 never. */
const rankings = {
  "retrieval@v1": (q: string) => [...noise, target(q)],
  "retrieval@v2": (q: string) => [target(q), ...noise],
  "retrieval@v3": () => noise,
  "retrieval@v4": (q: string) => [target(q), ...noise],
  "retrieval@v5": () => noise,
};

async function streamEvents(bus: Bus, key: StreamKey) {
  const name = bus.subjects.stream(key);
  const last = (await bus.jsm.streams.info(name)).state.last_seq;
  const out: { subject: string; data: Uint8Array; seq: number }[] = [];
  for (let seq = 1; seq <= last; seq++) {
    const m = await bus.jsm.streams.getMessage(name, { seq }).catch(() => null);
    if (m) out.push({ subject: bus.subjects.strip(m.subject), data: m.data, seq });
  }
  return out;
}

describe("evaluator service (real PostgreSQL and NATS; registry and retrieval stand-ins)", () => {
  let tdb: TestDatabase;
  let svc: EvaluatorServiceHandle;
  let cleanup: () => Promise<void>;
  const registry = new FakeRegistry();
  const prefix = uniquePrefix("evaluator");
  let client: ReturnType<typeof createClient<typeof EvaluatorService>>;

  const events = async (key: StreamKey, subject: string) =>
    (await streamEvents(svc.ctx.bus, key)).filter((e) => e.subject === subject);

  beforeAll(async () => {
    tdb = await createTestDatabase("evaluator");
    cleanup = (await withTestBusPrefix(prefix)).cleanup;
    for (const t of TENANTS) {
      registry.register(t, ...Object.keys(rankings));
      registry.point(t, "prod", "retrieval@v1");
    }
    const config = parseEvaluatorConfig({
      TAILOR_DATABASE_URL: tdb.url,
      TAILOR_NATS_URL: testNatsUrl(),
      TAILOR_BUS_PREFIX: prefix,
      TAILOR_EVALUATOR_PORT: "0",
      TAILOR_EVALUATOR_SCHEDULE_POLL_MS: "3600000",
      TAILOR_EVALUATOR_PERMUTATION_ROUNDS: "2000",
    });
    svc = await createService(config, {
      logger: createLogger("evaluator-test", "silent"),
      registryTransport: registry.transport(),
      retrievalTransport: fakeRetrieval(rankings, (t) => registry.alias(t, "prod") ?? ""),
    });
    await svc.start();
    client = createClient(
      EvaluatorService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${svc.port}` }),
    );
    for (const tenant of TENANTS) {
      await client.importTrec({ tenant, name: "heldout", topics: TOPICS, qrels: QRELS });
      await client.importTrec({ tenant, name: "train", topics: TOPICS, qrels: QRELS, keep: "odd" });
    }
  }, 60_000);

  afterAll(async () => {
    await svc?.destroy();
    await cleanup?.();
    await tdb?.drop();
  });

  it("imports TREC sets (odd/even, replace or ALREADY_EXISTS) and JSONL sets", async () => {
    const got = await client.getEvalSet({ tenant: "acme", name: "train" });
    expect(got.evalSet?.queries.map((q) => q.id)).toEqual(["1", "3", "5", "7"]);
    expect(got.evalSet?.queries[0]?.judgments).toEqual({ d1: 1 });
    expect(got.evalSet?.hash).toMatch(/^[0-9a-f]{64}$/);
    const again = await rpcError(
      client.importTrec({ tenant: "acme", name: "train", topics: TOPICS, qrels: QRELS }),
    );
    expect(again?.code).toBe(Code.AlreadyExists);
    const even = await client.importTrec({
      tenant: "acme",
      name: "train",
      topics: TOPICS,
      qrels: QRELS,
      keep: "even",
      replace: true,
    });
    expect(even.evalSet?.queryCount).toBe(4);
    expect(even.evalSet?.judgedQueryCount).toBe(4);
    const qa = await client.importJsonl({
      tenant: "acme",
      name: "qa",
      jsonl: [
        JSON.stringify({ id: "a", question: "who?", answer: "me", relevant_document_ids: ["d1"] }),
        JSON.stringify({ id: "b", question: "what?" }),
      ].join("\n"),
    });
    expect(qa.evalSet).toMatchObject({ queryCount: 2, judgedQueryCount: 1 });
    const full = await client.getEvalSet({ tenant: "acme", name: "qa" });
    expect(full.evalSet?.queries[0]).toMatchObject({ id: "a", answer: "me", judgments: { d1: 1 } });
    const summary = await client.getEvalSet({ tenant: "acme", name: "qa", summaryOnly: true });
    expect(summary.evalSet?.queries).toEqual([]);
    const list = await client.listEvalSets({ tenant: "acme" });
    expect(list.evalSets.map((s) => s.name)).toEqual(["heldout", "qa", "train"]);
    await client.deleteEvalSet({ tenant: "acme", name: "qa" });
    expect((await rpcError(client.getEvalSet({ tenant: "acme", name: "qa" })))?.code).toBe(
      Code.NotFound,
    );
  });

  it("refuses hostile imports with INVALID_ARGUMENT naming the line", async () => {
    const e1 = await rpcError(
      client.importTrec({ tenant: "acme", name: "bad", topics: "1\tok\n2\tzq\u0000", qrels: "" }),
    );
    expect(e1?.code).toBe(Code.InvalidArgument);
    expect(e1?.rawMessage).toMatch(/^topics: line 2: query holds a NUL/);
    const e2 = await rpcError(
      client.importJsonl({ tenant: "acme", name: "bad", jsonl: '{"id":"a","question":"q"}\n[' }),
    );
    expect(e2?.rawMessage).toBe("jsonl: line 2: not valid JSON");
    const e3 = await rpcError(client.importTrec({ tenant: "a.b", name: "x", topics: "1\tq" }));
    expect(e3?.rawMessage).toMatch(/^tenant: /);
    const e4 = await rpcError(client.importTrec({ tenant: "acme", name: "../x", topics: "1\tq" }));
    expect(e4?.rawMessage).toMatch(/^name: /);
    expect(await client.listEvalSets({ tenant: "acme" })).toMatchObject({
      evalSets: [{ name: "heldout" }, { name: "train" }],
    });
  });

  it("evaluates prod by default, naming the exact version, and publishes eval.completed", async () => {
    const r = await client.evaluate({ tenant: "acme", evalSet: "heldout" });
    expect(r.version).toBe("retrieval@v1");
    expect(r.metrics?.queries).toBe(8);
    expect(r.metrics?.values["recip_rank"]).toBeCloseTo(0.2);
    expect(r.metrics?.values["ndcg_cut_10"]).toBeCloseTo(1 / Math.log2(6));
    expect(r.metrics?.latencyP95Ms).toBeGreaterThanOrEqual(0);
    const exact = await client.evaluate({
      tenant: "acme",
      evalSet: "heldout",
      version: "retrieval@v2",
    });
    expect(exact.metrics?.values["recip_rank"]).toBe(1);
    const report = await client.getReport({ tenant: "acme", id: exact.report });
    expect(report.report?.markdown).toContain("retrieval@v2");
    // The chart covers the tenant's versions on this set.
    expect(report.report?.svg).toContain("retrieval@v1");
    const completed = await waitFor(async () => {
      const all = await events("EVAL", "eval.acme.completed");
      return all.length >= 2 ? all : undefined;
    });
    const ev = fromBinary(EvalCompletedSchema, completed[0]!.data);
    expect(ev).toMatchObject({
      tenant: "acme",
      run: r.run,
      version: "retrieval@v1",
      evalSet: "heldout",
    });
  });

  it("refuses bad requests with the right codes", async () => {
    const cases: [() => Promise<unknown>, Code, RegExp][] = [
      [
        () =>
          client.evaluate({
            tenant: "acme",
            evalSet: "heldout",
            version: "retrieval@v1",
            alias: "prod",
          }),
        Code.InvalidArgument,
        /^version: give a version or an alias/,
      ],
      [
        () => client.evaluate({ tenant: "acme", evalSet: "heldout", version: "retrieval@v99" }),
        Code.NotFound,
        /retrieval@v99/,
      ],
      [
        () => client.evaluate({ tenant: "acme", evalSet: "nope" }),
        Code.NotFound,
        /^eval_set "nope" not found/,
      ],
      [
        () => client.evaluate({ tenant: "acme", evalSet: "heldout", alias: "beta" }),
        Code.NotFound,
        /alias "beta"/,
      ],
      [
        () => client.evaluate({ tenant: "acme", evalSet: "heldout", depth: 5000 }),
        Code.InvalidArgument,
        /^depth: /,
      ],
      [
        () => client.evaluate({ tenant: "", evalSet: "heldout" }),
        Code.InvalidArgument,
        /^tenant: /,
      ],
      [
        () => client.evaluate({ tenant: "acme", evalSet: "heldout", version: "v1" }),
        Code.InvalidArgument,
        /^version: /,
      ],
      [
        () => client.compare({ tenant: "acme", evalSet: "heldout", candidateVersion: "" }),
        Code.InvalidArgument,
        /^candidate_version: /,
      ],
      [
        () =>
          client.compare({
            tenant: "acme",
            evalSet: "heldout",
            candidateVersion: "retrieval@v2",
            gate: { primaryMetric: "bogus" },
          }),
        Code.InvalidArgument,
        /^gate\.primary_metric/,
      ],
      [
        () => client.setThresholds({ tenant: "acme", minimums: { bogus: 1 }, evalSet: "heldout" }),
        Code.InvalidArgument,
        /^minimums: key 0/,
      ],
      [
        () => client.setThresholds({ tenant: "acme", minimums: { map: 0.3 }, evalSet: "missing" }),
        Code.NotFound,
        /^eval_set "missing"/,
      ],
      [
        () => client.setThresholds({ tenant: "acme", evalSet: "heldout", trainEvalSet: "heldout" }),
        Code.InvalidArgument,
        /^train_eval_set: must differ/,
      ],
      [() => client.listReports({ tenant: "acme", limit: 1000 }), Code.InvalidArgument, /^limit: /],
    ];
    for (const [call, code, re] of cases) {
      const e = await rpcError(call());
      expect(e?.code, e?.rawMessage).toBe(code);
      expect(e?.rawMessage).toMatch(re);
    }
  });

  it("keeps tenants apart: another tenant sees no eval set, run or report", async () => {
    const r = await client.evaluate({ tenant: "acme", evalSet: "heldout" });
    const other = "intruder";
    expect((await rpcError(client.getEvalSet({ tenant: other, name: "heldout" })))?.code).toBe(
      Code.NotFound,
    );
    expect((await rpcError(client.evaluate({ tenant: other, evalSet: "heldout" })))?.code).toBe(
      Code.NotFound,
    );
    expect((await rpcError(client.deleteEvalSet({ tenant: other, name: "heldout" })))?.code).toBe(
      Code.NotFound,
    );
    expect((await rpcError(client.getReport({ tenant: other, id: r.report })))?.code).toBe(
      Code.NotFound,
    );
    expect((await client.listReports({ tenant: other })).reports).toEqual([]);
    expect((await client.listEvalSets({ tenant: other })).evalSets).toEqual([]);
    expect(
      (
        await rpcError(
          client.setThresholds({ tenant: other, evalSet: "heldout", minimums: { map: 0.1 } }),
        )
      )?.code,
    ).toBe(Code.NotFound);
    expect(
      (await client.getEvalSet({ tenant: "acme", name: "heldout", summaryOnly: true })).evalSet
        ?.name,
    ).toBe("heldout");
  });

  it("below the thresholds, an evaluation of prod publishes eval.regressed and training.requested", async () => {
    await client.setThresholds({
      tenant: "acme",
      minimums: { ndcg_cut_10: 0.9 },
      evalSet: "heldout",
      trainEvalSet: "train",
      kind: "reranker",
    });
    // Not prod: thresholds do not apply.
    await client.evaluate({ tenant: "acme", evalSet: "heldout", version: "retrieval@v3" });
    const r = await client.evaluate({ tenant: "acme", evalSet: "heldout" });
    const requested = await waitFor(async () => {
      const all = await events("TRAINING", "training.acme.requested");
      return all.length > 0 ? all : undefined;
    });
    expect(requested).toHaveLength(1);
    const tr = fromBinary(TrainingRequestedSchema, requested[0]!.data);
    expect(tr).toMatchObject({
      tenant: "acme",
      kind: "reranker",
      evalSet: "train",
      heldoutEvalSet: "heldout",
      baseVersion: "retrieval@v1",
      requestId: `run-${r.run}`,
      model: "retrieval",
    });
    expect(tr.reason).toMatch(/^ndcg_cut_10 0\.3869 < 0\.9000/);
    const regressed = await events("EVAL", "eval.acme.regressed");
    expect(regressed).toHaveLength(1);
    const ev = fromBinary(EvalRegressedSchema, regressed[0]!.data);
    expect(ev).toMatchObject({ version: "retrieval@v1", evalSet: "heldout", kind: "reranker" });
    expect(ev.metrics["ndcg_cut_10"]).toBeCloseTo(0.3869, 3);
  });

  it("gates a candidate: pass promotes canary then prod, fail rejects, dry run only reports", async () => {
    const dry = await client.compare({
      tenant: "gate",
      evalSet: "heldout",
      candidateVersion: "retrieval@v3",
      dryRun: true,
    });
    expect(dry).toMatchObject({
      verdict: "fail",
      action: "none (dry run)",
      championVersion: "retrieval@v1",
    });
    expect(registry.callsOf("gate").filter((c) => c.method !== "attachReport")).toEqual([]);

    const pass = await client.compare({
      tenant: "gate",
      evalSet: "heldout",
      candidateVersion: "retrieval@v2",
    });
    expect(pass.verdict).toBe("pass");
    expect(pass.action).toBe("promoted to canary (weight 0.1) and prod");
    const ndcg = pass.metrics.find((m) => m.metric === "ndcg_cut_10")!;
    expect(ndcg.delta).toBeGreaterThan(0.5);
    expect(ndcg.pValue).toBeLessThan(0.1);
    expect(registry.callsOf("gate", "promote")).toEqual([
      expect.objectContaining({ version: "retrieval@v2", alias: "canary", weight: 0.1 }),
      expect.objectContaining({ version: "retrieval@v2", alias: "prod" }),
    ]);
    expect(registry.callsOf("gate", "attachReport")).toContainEqual(
      expect.objectContaining({ version: "retrieval@v2", report: pass.report }),
    );

    const fail = await client.compare({
      tenant: "gate",
      evalSet: "heldout",
      candidateVersion: "retrieval@v3",
    });
    expect(fail).toMatchObject({
      verdict: "fail",
      action: "rejected",
      championVersion: "retrieval@v2",
    });
    expect(fail.reasons.some((r) => r.startsWith("min_gain: ndcg_cut_10"))).toBe(true);
    expect(registry.callsOf("gate", "reject")).toEqual([
      expect.objectContaining({ version: "retrieval@v3", report: fail.report }),
    ]);
    const report = await client.getReport({ tenant: "gate", id: fail.report });
    expect(report.report).toMatchObject({
      kind: "compare",
      verdict: "fail",
      version: "retrieval@v3",
    });
    expect(report.report?.markdown).toContain("Verdict: FAIL");
    expect(report.report?.svg).toMatch(/^<svg/);
    const same = await rpcError(
      client.compare({ tenant: "gate", evalSet: "heldout", candidateVersion: "retrieval@v2" }),
    );
    expect(same?.code).toBe(Code.FailedPrecondition);
  });

  it("judges a trained candidate once, however often model.trained is delivered", async () => {
    const bus = svc.ctx.bus;
    const trained = create(ModelTrainedSchema, {
      tenant: "loop",
      model: "retrieval",
      version: "retrieval@v4",
      parentVersion: "retrieval@v1",
      job: "job-1",
      kind: "reranker",
      evalSet: "train",
      heldoutEvalSet: "heldout",
    });
    const publish = (id: string) =>
      bus.publish(bus.subjects.model("loop", "trained"), Events.modelTrained, trained, {
        id,
        source: "/test",
      });
    await publish("trained-1");
    await waitFor(() => registry.alias("loop", "prod") === "retrieval@v4", {
      what: "prod promotion",
    });
    await publish("trained-2");
    const durable = async () => bus.jsm.consumers.info(bus.subjects.stream("MODEL"), "evaluator");
    await waitFor(
      async () => {
        const i = await durable();
        return i.num_pending === 0 && i.num_ack_pending === 0 && i.delivered.stream_seq >= 2;
      },
      { what: "both deliveries handled" },
    );
    expect(registry.callsOf("loop", "promote")).toHaveLength(2);
    const completed = (await events("EVAL", "eval.loop.completed")).map((e) =>
      fromBinary(EvalCompletedSchema, e.data),
    );
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({
      version: "retrieval@v4",
      championVersion: "retrieval@v1",
      verdict: "pass",
    });
  });

  it("asks for training when negative feedback reaches the tenant's threshold", async () => {
    await client.setThresholds({
      tenant: "fb",
      negativeFeedback: 2,
      evalSet: "heldout",
      trainEvalSet: "train",
    });
    const bus = svc.ctx.bus;
    const send = (i: number, rating: number) =>
      bus.publish(
        bus.subjects.feedback("fb", "received"),
        Events.feedbackReceived,
        create(FeedbackReceivedSchema, {
          tenant: "fb",
          interaction: `i${i}`,
          rating,
          version: "retrieval@v1",
        }),
        { id: `fb-${i}`, source: "/test" },
      );
    await send(1, -1);
    await send(2, 1);
    await send(3, -0.5);
    const requested = await waitFor(async () => {
      const all = await events("TRAINING", "training.fb.requested");
      return all.length > 0 ? all : undefined;
    });
    const tr = fromBinary(TrainingRequestedSchema, requested[0]!.data);
    expect(tr).toMatchObject({
      tenant: "fb",
      evalSet: "train",
      heldoutEvalSet: "heldout",
      baseVersion: "retrieval@v1",
    });
    expect(tr.reason).toMatch(/^2 negative feedback/);
    const regressed = await events("EVAL", "eval.fb.regressed");
    expect(regressed).toHaveLength(1);
    const count = await svc.ctx.database.db
      .selectFrom("feedback_counts")
      .select("negatives")
      .where("tenant", "=", "fb")
      .executeTakeFirstOrThrow();
    expect(count.negatives).toBe(0);
  });

  it("runs a due scheduled evaluation once, and a second replica's tick finds nothing due", async () => {
    await client.setThresholds({
      tenant: "sched",
      minimums: { recip_rank: 0.5 },
      trainEvalSet: "train",
      evalSet: "heldout",
      scheduleMinutes: 60,
    });
    await sql`update thresholds set next_run_at = now() - interval '1 minute' where tenant = 'sched'`.execute(
      svc.ctx.database.db,
    );
    await Promise.all([svc.scheduler.tick(), svc.scheduler.tick()]);
    const completed = await waitFor(async () => {
      const all = await events("EVAL", "eval.sched.completed");
      return all.length > 0 ? all : undefined;
    });
    expect(completed).toHaveLength(1);
    const requested = await waitFor(async () => {
      const all = await events("TRAINING", "training.sched.requested");
      return all.length > 0 ? all : undefined;
    });
    expect(fromBinary(TrainingRequestedSchema, requested[0]!.data).reason).toMatch(
      /^recip_rank 0\.2000 < 0\.5000/,
    );
    const next = await svc.ctx.database.db
      .selectFrom("thresholds")
      .select("next_run_at")
      .where("tenant", "=", "sched")
      .executeTakeFirstOrThrow();
    expect(next.next_run_at!.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
  });

  it("promotes a passing candidate to prod only after the canary soak", async () => {
    svc.ctx.config.canarySoakMs = 50;
    try {
      const r = await client.compare({
        tenant: "soak",
        evalSet: "heldout",
        candidateVersion: "retrieval@v2",
      });
      expect(r.action).toBe("promoted to canary (weight 0.1); prod after a 50 ms soak");
      expect(registry.alias("soak", "canary")).toBe("retrieval@v2");
      expect(registry.alias("soak", "prod")).toBe("retrieval@v1");
      await svc.scheduler.tick();
      await new Promise((res) => setTimeout(res, 60));
      await svc.scheduler.tick();
      expect(registry.alias("soak", "prod")).toBe("retrieval@v2");
      const d = await svc.ctx.database.db
        .selectFrom("gate_decisions")
        .select(["state", "action"])
        .where("tenant", "=", "soak")
        .executeTakeFirstOrThrow();
      expect(d).toEqual({
        state: "done",
        action: "promoted to canary (weight 0.1) and, after the soak, prod",
      });
    } finally {
      svc.ctx.config.canarySoakMs = 0;
    }
  });

  it("dead-letters a model.trained event it can never act on", async () => {
    const bus = svc.ctx.bus;
    const bad = create(ModelTrainedSchema, {
      tenant: "loop",
      version: "not a version",
      heldoutEvalSet: "heldout",
    });
    await bus.publish(bus.subjects.model("loop", "trained"), Events.modelTrained, bad, {
      id: "bad-1",
      source: "/test",
    });
    const spoofed = create(ModelTrainedSchema, {
      tenant: "acme",
      version: "retrieval@v2",
      heldoutEvalSet: "heldout",
    });
    await bus.publish(bus.subjects.model("loop", "trained"), Events.modelTrained, spoofed, {
      id: "bad-2",
      source: "/test",
    });
    const dead = await waitFor(async () => {
      const all = (await streamEvents(bus, "DLQ")).filter((e) =>
        e.subject.startsWith("dlq.model.loop.trained"),
      );
      return all.length >= 2 ? all : undefined;
    });
    expect(dead).toHaveLength(2);
    expect(registry.callsOf("acme", "promote")).toEqual([]);
  });
});
