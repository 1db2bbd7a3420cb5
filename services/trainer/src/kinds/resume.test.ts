import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Subjects } from "@tailor/bus";
import { Database } from "@tailor/db";
import { createLogger } from "@tailor/telemetry";
import {
  createTestDatabase,
  type TestDatabase,
  uniquePrefix,
  waitFor,
  withTestBusPrefix,
} from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrations } from "../db/migrations.js";
import type { TrainerDB } from "../db/schema.js";
import { JobStore } from "../jobs/job-store.js";
import { decodeCheckpoint } from "./checkpoint.js";

const CHILD = resolve(fileURLToPath(import.meta.url), "../../testing/run-jobs.ts");
const logger = createLogger("resume-test", "silent");
const prefix = uniquePrefix("trainerresume");
let tdb: TestDatabase;
let database: Database<TrainerDB>;
let store: JobStore;
let dir: string;

function runChild(jobId: string): {
  child: ChildProcess;
  out: string[];
  exited: Promise<number | null>;
} {
  const out: string[] = [];
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      CHILD,
      tdb.url,
      join(dir, "models"),
      join(dir, "registered.jsonl"),
      join(dir, "work"),
      jobId,
      prefix,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout!.on("data", (d: Buffer) => out.push(d.toString()));
  child.stderr!.on("data", (d: Buffer) => out.push(d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, out, exited };
}

async function registered(): Promise<
  { tenant: string; version: string; embedder: string; job: string; datasetHash: string }[]
> {
  const text = await readFile(join(dir, "registered.jsonl"), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

beforeAll(async () => {
  tdb = await createTestDatabase("trainerresume");
  database = new Database<TrainerDB>({ url: tdb.url, schema: "trainer", migrations, logger });
  await database.migrate();
  store = new JobStore(database, new Subjects("resume"));
  dir = await mkdtemp(join(tmpdir(), "trainer-resume-"));
});

afterAll(async () => {
  await database?.destroy();
  await tdb?.drop();
  await (await withTestBusPrefix(prefix)).cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const newJob = (tenant: string) =>
  store.create({
    tenant,
    kind: "adapter",
    model: "retrieval",
    evalSet: "train",
    heldoutEvalSet: "",
    baseVersion: "",
    seed: 7n,
    reason: "resume test",
  });

describe("an adapter job killed with SIGKILL mid-training", () => {
  it("resumes from its checkpoint in a new process and ends with the same adapter", async () => {
    // Uninterrupted reference run.
    const { job: ref } = await newJob("whole");
    const first = runChild(ref.id);
    expect(await first.exited).toBe(0);
    const refJob = (await store.get("whole", ref.id))!;
    expect(refJob.state, first.out.join("")).toBe("succeeded");

    // The same job for another tenant, killed once its training has checkpointed a few steps.
    const { job } = await newJob("killed");
    const victim = runChild(job.id);
    let killedAt = -1;
    await waitFor(
      async () => {
        const cp = decodeCheckpoint(await store.loadCheckpoint(job.id));
        const step = cp?.adapter?.state?.step ?? 0;
        if (step < 5) return false;
        victim.child.kill("SIGKILL");
        killedAt = step;
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 20 },
    );
    await victim.exited;
    const mid = (await store.get("killed", job.id))!;
    expect(mid.state).toBe("running");

    const again = runChild(job.id);
    expect(await again.exited).toBe(0);
    const done = (await store.get("killed", job.id))!;
    const log = again.out.join("");
    expect(done.state, log).toBe("succeeded");
    expect(done.resumes).toBe(1);
    const resumedAt = /"step":(\d+)[^\n]*adapter training resumed from its checkpoint/.exec(log);
    expect(resumedAt, log).not.toBeNull();
    expect(Number(resumedAt![1])).toBeGreaterThanOrEqual(killedAt);

    // Identical weights: the adapter's version is the hash of its ONNX file.
    const regs = await registered();
    const a = regs.find((r) => r.job === ref.id)!;
    const b = regs.find((r) => r.job === job.id)!;
    expect(b.embedder.split("@")[1]).toBe(a.embedder.split("@")[1]);
    expect(b.datasetHash).toBe(a.datasetHash);
    expect(done.dataset_hash).toBe(refJob.dataset_hash);
    expect(done.metrics).toEqual(refJob.metrics);
  }, 180_000);
});
