import { create, fromBinary } from "@bufbuild/protobuf";
import { Events, Subjects } from "@tailor/bus";
import { Database } from "@tailor/db";
import { ModelTrainedSchema, TrainingStatusSchema } from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { createTestDatabase, type TestDatabase } from "@tailor/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { migrations } from "../db/migrations.js";
import type { TrainerDB } from "../db/schema.js";
import { JobStore, LeaseLostError, type NewJob } from "./job-store.js";

const logger = createLogger("job-store-test", "silent");
let tdb: TestDatabase;
let database: Database<TrainerDB>;
let store: JobStore;

const job = (o: Partial<NewJob> = {}): NewJob => ({
  tenant: "acme",
  kind: "reranker",
  model: "retrieval",
  evalSet: "train",
  heldoutEvalSet: "heldout",
  baseVersion: "",
  seed: 42n,
  reason: "test",
  ...o,
});

async function outbox() {
  const rows = await database.db.selectFrom("outbox").selectAll().orderBy("id").execute();
  return rows.map((r) => ({
    subject: r.subject,
    type: r.event_type,
    msgId: r.msg_id,
    status:
      r.event_type === Events.trainingStatus.type
        ? fromBinary(TrainingStatusSchema, r.payload)
        : undefined,
  }));
}

beforeAll(async () => {
  tdb = await createTestDatabase("trainerstore");
  database = new Database<TrainerDB>({ url: tdb.url, schema: "trainer", migrations, logger });
  await database.migrate();
  store = new JobStore(database, new Subjects("tst"));
});

afterAll(async () => {
  await database?.destroy();
  await tdb?.drop();
});

beforeEach(async () => {
  await database.db.deleteFrom("outbox").execute();
  await database.db.deleteFrom("checkpoints").execute();
  await database.db.deleteFrom("jobs").execute();
});

describe("JobStore (real PostgreSQL)", () => {
  it("queues a job with a status event, and a repeated request id returns the same job", async () => {
    const a = await store.create(job({ requestId: "r1" }));
    expect(a.created).toBe(true);
    expect(a.job.state).toBe("queued");
    const b = await store.create(job({ requestId: "r1", kind: "adapter" }));
    expect(b.created).toBe(false);
    expect(b.job.id).toBe(a.job.id);
    expect(b.job.kind).toBe("reranker");
    // The same request id of another tenant is another request.
    const c = await store.create(job({ tenant: "other", requestId: "r1" }));
    expect(c.created).toBe(true);
    const events = await outbox();
    expect(events.map((e) => e.subject)).toEqual([
      "tst.training.acme.progress",
      "tst.training.other.progress",
    ]);
    expect(events[0]!.status).toMatchObject({ job: a.job.id, state: "queued", kind: "reranker" });
  });

  it("runs one job per tenant and kind at a time; other kinds and tenants go on", async () => {
    const first = (await store.create(job())).job;
    const second = (await store.create(job())).job;
    const adapter = (await store.create(job({ kind: "adapter" }))).job;
    const other = (await store.create(job({ tenant: "other" }))).job;
    const claimed: string[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await store.claim("w1", 10_000);
      if (c) claimed.push(c.job.id);
    }
    expect(claimed.sort()).toEqual([first.id, adapter.id, other.id].sort());
    expect((await store.get("acme", second.id))!.state).toBe("queued");
    await store.end("w1", first.id, "failed", { error: "boom" });
    const next = await store.claim("w1", 10_000);
    expect(next?.job.id).toBe(second.id);
    // The database itself refuses a second running job of a tenant and kind.
    await expect(
      database.db
        .updateTable("jobs")
        .set({ state: "running" })
        .where("id", "=", first.id)
        .execute(),
    ).rejects.toThrow(/jobs_one_running/);
  });

  it("lets concurrent claimers start at most one job per tenant and kind", async () => {
    for (let i = 0; i < 6; i++) await store.create(job());
    const claims = await Promise.all(
      Array.from({ length: 6 }, (_, i) => store.claim(`w${i}`, 10_000)),
    );
    expect(claims.filter((c) => c !== undefined)).toHaveLength(1);
    const running = await database.db
      .selectFrom("jobs")
      .select("id")
      .where("state", "=", "running")
      .execute();
    expect(running).toHaveLength(1);
  });

  it("takes over a job whose lease expired; the old holder can no longer write", async () => {
    const { job: j } = await store.create(job());
    const c = await store.claim("dead", 150);
    expect(c?.resumed).toBe(false);
    await store.saveCheckpoint("dead", j.id, new Uint8Array([1, 2, 3]));
    expect(await store.claim("live", 10_000)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 250));
    const taken = await store.claim("live", 10_000);
    expect(taken).toMatchObject({ resumed: true });
    expect(taken!.job.resumes).toBe(1);
    expect(Array.from((await store.loadCheckpoint(j.id))!)).toEqual([1, 2, 3]);
    await expect(store.heartbeat("dead", j.id, 1000)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      store.progress("dead", j.id, { progress: 0.5, stage: "x" }, true),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      store.end("dead", j.id, "succeeded", { version: "retrieval@v9" }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(await store.heartbeat("live", j.id, 1000)).toEqual({ cancel: false });
  });

  it("cancels a queued job at once and a running one through its heartbeat", async () => {
    const running = (await store.create(job())).job;
    const waiting = (await store.create(job({ kind: "adapter" }))).job;
    // Oldest first: the reranker job is the one claimed.
    expect((await store.claim("w", 10_000))?.job.id).toBe(running.id);
    await database.db
      .updateTable("jobs")
      .set({ state: "queued" })
      .where("id", "=", waiting.id)
      .execute();
    const c1 = await store.cancel("acme", waiting.id);
    expect(c1!.state).toBe("cancelled");
    const c2 = await store.cancel("acme", running.id);
    expect(c2!.state).toBe("running");
    expect(c2!.cancel_requested).toBe(true);
    expect(await store.heartbeat("w", running.id, 10_000)).toEqual({ cancel: true });
    const ended = await store.end("w", running.id, "cancelled", {});
    expect(ended.state).toBe("cancelled");
    // A finished job stays as it is.
    expect((await store.cancel("acme", running.id))!.state).toBe("cancelled");
    const subjects = (await outbox()).map((e) => e.subject);
    expect(subjects.filter((s) => s.endsWith(".cancelled"))).toHaveLength(2);
  });

  it("ends a job with its version and model.trained in one transaction, dropping the checkpoint", async () => {
    const { job: j } = await store.create(job());
    await store.claim("w", 10_000);
    await store.progress(
      "w",
      j.id,
      { progress: 0.4, stage: "halfway", datasetHash: "h1", baseVersion: "retrieval@v1" },
      true,
    );
    await store.saveCheckpoint("w", j.id, new Uint8Array([9]));
    const trained = create(ModelTrainedSchema, {
      tenant: "acme",
      model: "retrieval",
      version: "retrieval@v2",
      parentVersion: "retrieval@v1",
      job: j.id,
      kind: "reranker",
      evalSet: "train",
      heldoutEvalSet: "heldout",
    });
    const done = await store.end("w", j.id, "succeeded", {
      version: "retrieval@v2",
      metrics: { loss: 0.5 },
      trained,
    });
    expect(done).toMatchObject({
      state: "succeeded",
      progress: 1,
      version: "retrieval@v2",
      dataset_hash: "h1",
      base_version: "retrieval@v1",
      metrics: { loss: 0.5 },
      lease_owner: null,
    });
    expect(await store.loadCheckpoint(j.id)).toBeUndefined();
    const events = await outbox();
    expect(events.map((e) => e.subject)).toEqual([
      "tst.training.acme.progress",
      "tst.training.acme.progress",
      "tst.training.acme.progress",
      "tst.training.acme.succeeded",
      "tst.model.acme.trained",
    ]);
    expect(new Set(events.map((e) => e.msgId)).size).toBe(events.length);
    expect(events[3]!.status).toMatchObject({ state: "succeeded", version: "retrieval@v2" });
  });

  it("keeps tenants apart", async () => {
    const { job: j } = await store.create(job());
    expect(await store.get("other", j.id)).toBeUndefined();
    expect(await store.cancel("other", j.id)).toBeUndefined();
    expect(await store.list("other", 10)).toEqual([]);
    expect((await store.get("acme", j.id))!.state).toBe("queued");
  });
});
