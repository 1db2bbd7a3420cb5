import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { type Bus, Events } from "@tailor/bus";
import {
  FeedbackReceivedSchema,
  JobState,
  type StartTrainingRequestSchema,
  TrainingRequestedSchema,
  TrainingStatusSchema,
} from "@tailor/proto";
import { rpcError, streamMessages, waitFor } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrainerServiceHandle } from "./service.js";
import type { FakeRemote } from "./testing/fake-remote.js";
import { startTestTrainer, type TestTrainer } from "./testing/test-trainer.js";

let t: TestTrainer;
let trainer: TrainerServiceHandle;
let remote: FakeRemote;
let bus: Bus;
let client: TestTrainer["client"];

beforeAll(async () => {
  t = await startTestTrainer("trainersvc", {
    remote: { docs: 300, dims: 16 },
    env: { TAILOR_TRAINER_ADAPTER_EPOCHS: "3" },
  });
  ({ trainer, remote, bus, client } = t);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const start = (o: Omit<MessageInitShape<typeof StartTrainingRequestSchema>, "$typeName"> = {}) =>
  client.startTraining({ tenant: "acme", kind: "reranker", evalSet: "train", ...o });

/** Follows WatchJob to the end; returns every state seen. */
async function watch(tenant: string, id: string) {
  const seen = [];
  for await (const r of client.watchJob({ tenant, id })) seen.push(r.job!);
  return seen;
}

describe("TrainerService (real PostgreSQL and NATS, stand-in services)", () => {
  it("refuses bad requests with the field's name and the right code", async () => {
    const kind = await rpcError(start({ kind: "everything" }));
    expect(kind?.code).toBe(Code.InvalidArgument);
    expect(kind?.rawMessage).toMatch(
      /^kind: must be one of reranker, retrieval-params, adapter, all/,
    );
    expect((await rpcError(start({ tenant: "a.b" })))?.rawMessage).toMatch(/^tenant:/);
    expect((await rpcError(start({ evalSet: "" })))?.rawMessage).toMatch(/^eval_set: is required/);
    expect((await rpcError(start({ heldoutEvalSet: "train" })))?.rawMessage).toMatch(
      /^heldout_eval_set:/,
    );
    expect((await rpcError(start({ baseVersion: "retrieval@latest" })))?.rawMessage).toMatch(
      /^base_version:/,
    );
    expect((await rpcError(start({ reason: "a\u0000b" })))?.rawMessage).toMatch(
      /^reason: holds a NUL/,
    );
    const missing = await rpcError(start({ evalSet: "missing" }));
    expect(missing?.code).toBe(Code.NotFound);
    expect(missing?.rawMessage).toBe("eval_set: eval set missing not found");
    const unjudged = await rpcError(start({ evalSet: "unjudged" }));
    expect(unjudged?.code).toBe(Code.FailedPrecondition);
    expect(unjudged?.rawMessage).toMatch(/unjudged has no judged query/);
  });

  it("trains a reranker to a registered candidate, watched to the end, behind tenant walls", async () => {
    const r = await start({ requestId: "req-1", heldoutEvalSet: "heldout", seed: 5n });
    const again = await start({ requestId: "req-1", kind: "adapter" });
    expect(again.job!.id).toBe(r.job!.id);
    const states = await watch("acme", r.job!.id);
    const last = states.at(-1)!;
    expect(last.state, last.error).toBe(JobState.SUCCEEDED);
    // WatchJob samples the job, so a fast one may go from queued to succeeded between looks; the
    // running state is certain in the status events the job published.
    const subjects = (await streamMessages(bus, "TRAINING")).map((m) => m.subject);
    expect(subjects).toContain(bus.subjects.strip(bus.subjects.training("acme", "progress")));
    expect(subjects).toContain(bus.subjects.strip(bus.subjects.training("acme", "succeeded")));
    expect(last.version).toMatch(/^retrieval@v\d+$/);
    expect(last.baseVersion).toBe("retrieval@v1");
    expect(last.datasetHash).toMatch(/^[0-9a-f]{64}$/);
    expect(last.metrics["feedback_pairs"]).toBe(0);
    expect(last.metrics["reranker_valid_ndcg10"]).toBeGreaterThan(
      last.metrics["reranker_valid_ndcg10_base"]!,
    );
    const reg = remote.registered.find((x) => x.version === last.version)!;
    expect(reg.spec.reranker!.features).toEqual(["fused", "noise", "signal"]);
    const w = reg.spec.reranker!.weights;
    expect(w[2]).toBeGreaterThan(Math.abs(w[1]!));
    expect(reg.spec.embedder).toBe("fake@1");
    expect(reg.lineage).toMatchObject({
      parentVersion: "retrieval@v1",
      trainingJob: r.job!.id,
      kind: "reranker",
      seed: 5n,
    });
    // Another tenant sees nothing of it.
    expect((await rpcError(client.getJob({ tenant: "globex", id: r.job!.id })))?.code).toBe(
      Code.NotFound,
    );
    expect((await rpcError(client.cancelJob({ tenant: "globex", id: r.job!.id })))?.code).toBe(
      Code.NotFound,
    );
    expect((await client.listJobs({ tenant: "globex" })).jobs).toEqual([]);
    // model.trained reached the bus through the outbox, with the held-out set passed on.
    await waitFor(
      async () =>
        (await trainer.ctx.database.db.selectFrom("outbox").select("id").execute()).length === 0,
    );
    const trained = await streamMessages(bus, "MODEL", bus.subjects.model("acme", "trained"));
    expect(trained).toHaveLength(1);
  }, 120_000);

  it("queues a job from training.<tenant>.requested, once, and ignores its own status events", async () => {
    // Feedback naming relevant documents joins the training queries; the rest is skipped.
    const feedback = [
      { interaction: "i-1", question: "how are refunds made?", relevantDocumentIds: ["d1", "d2"] },
      { interaction: "i-2", question: "  ", relevantDocumentIds: ["d1"] },
      { interaction: "i-3", question: "which plan?", relevantChunkIds: ["c1"] },
      { interaction: "i-4", question: "rating only", rating: 1 },
    ];
    for (const [i, f] of feedback.entries())
      await bus.publish(
        bus.subjects.feedback("initech", "received"),
        Events.feedbackReceived,
        create(FeedbackReceivedSchema, { tenant: "initech", rating: -1, ...f }),
        { id: `fb-${i}`, source: "/test" },
      );
    const ev = create(TrainingRequestedSchema, {
      tenant: "initech",
      kind: "retrieval-params",
      evalSet: "train",
      requestId: "bus-1",
      seed: 3n,
    });
    for (let i = 0; i < 2; i++)
      await bus.publish(
        bus.subjects.training("initech", "requested"),
        Events.trainingRequested,
        ev,
        {
          id: `req-${i}`,
          source: "/test",
        },
      );
    await bus.publish(
      bus.subjects.training("initech", "progress"),
      Events.trainingStatus,
      create(TrainingStatusSchema, { tenant: "initech", job: "x", state: "running" }),
      { id: "status-1", source: "/test" },
    );
    const job = await waitFor(async () => (await client.listJobs({ tenant: "initech" })).jobs[0], {
      timeoutMs: 20_000,
    });
    const states = await watch("initech", job.id);
    const last = states.at(-1)!;
    expect(last.state, last.error).toBe(JobState.SUCCEEDED);
    expect((await client.listJobs({ tenant: "initech" })).jobs).toHaveLength(1);
    const reg = remote.registered.find((x) => x.version === last.version)!;
    expect(reg.spec.reranker).toBeUndefined();
    expect(reg.spec.bm25K1).toBeGreaterThan(0);
    expect(last.metrics["feedback_events"]).toBe(4);
    expect(last.metrics["feedback_pairs"]).toBe(1);
    expect(last.metrics["params_train_objective_keyword"]).toBeGreaterThanOrEqual(
      last.metrics["params_train_objective_start"]!,
    );
  }, 180_000);

  it("runs all: adapter, then parameters at its index, then a reranker searched at an intermediate version", async () => {
    const r = await start({ tenant: "hooli", kind: "all" });
    const last = (await watch("hooli", r.job!.id)).at(-1)!;
    expect(last.state, last.error).toBe(JobState.SUCCEEDED);
    const mine = remote.registered.filter((x) => x.lineage.trainingJob === r.job!.id);
    expect(mine).toHaveLength(2);
    const [intermediate, final] = mine;
    expect(final!.version).toBe(last.version);
    expect(final!.spec.embedder).toMatch(/^fake-hooli-adapter@[0-9a-f]{16}$/);
    expect(intermediate!.spec.embedder).toBe(final!.spec.embedder);
    expect(intermediate!.spec.reranker).toBeUndefined();
    expect(final!.spec.reranker?.features.length).toBeGreaterThan(0);
    expect(final!.lineage.artifacts).toEqual([final!.spec.embedder, intermediate!.version]);
    expect(remote.rejected).toContain(intermediate!.version);
    expect(remote.built).toContain(final!.spec.embedder);
  }, 120_000);

  it("cancels a queued job at once and a running one at its next checkpoint", async () => {
    remote.embedDelayMs = 300;
    const a = await start({ tenant: "umbrella", kind: "adapter" });
    const b = await start({ tenant: "umbrella", kind: "adapter" });
    const queued = await client.cancelJob({ tenant: "umbrella", id: b.job!.id });
    expect(queued.job!.state).toBe(JobState.CANCELLED);
    await waitFor(
      async () =>
        (await client.getJob({ tenant: "umbrella", id: a.job!.id })).job!.state ===
        JobState.RUNNING,
    );
    await client.cancelJob({ tenant: "umbrella", id: a.job!.id });
    const states = await watch("umbrella", a.job!.id);
    remote.embedDelayMs = 0;
    expect(states.at(-1)!.state).toBe(JobState.CANCELLED);
  }, 60_000);
});
