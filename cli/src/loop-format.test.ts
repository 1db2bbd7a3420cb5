import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import {
  EvalSetSchema,
  EvaluateResponseSchema,
  type Job,
  JobSchema,
  JobState,
  MetricsSchema,
} from "@tailor/proto";
import { InvalidArgumentError } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reason, registryVersion, runTag, seed, setName, weight } from "./args.js";
import { evalJson } from "./commands/eval.js";
import { evalSetJson, evalSetLine, importForm } from "./commands/evalset.js";
import { promoteRequest } from "./commands/registry.js";
import { jobJson, jobResult } from "./commands/train.js";
import { CliError, UsageError } from "./errors.js";
import { readInputFile } from "./input-file.js";
import { duration, JobProgress, progressBar, progressLine } from "./job-progress.js";

const job = (over: Partial<Omit<Job, "$typeName">> = {}) =>
  create(JobSchema, {
    tenant: "acme",
    id: "job-1",
    kind: "all",
    evalSet: "train",
    baseVersion: "retrieval@v1",
    seed: 42n,
    state: JobState.RUNNING,
    progress: 0.42,
    stage: "adapter epoch 3/20",
    ...over,
  });

describe("argument parsers refuse bad values before anything is sent", () => {
  it("versions, names, weights, seeds, tags and reasons", () => {
    expect(registryVersion("retrieval@v12")).toBe("retrieval@v12");
    for (const bad of ["retrieval", "retrieval@2", "retrieval@v0", "@v1", "a b@v1", "x@v1\n"])
      expect(() => registryVersion(bad), bad).toThrow(InvalidArgumentError);
    expect(setName("fiqa.dev-odd_1")).toBe("fiqa.dev-odd_1");
    for (const bad of ["", ".hidden", "a/b", "a b", "x".repeat(129), "a\u0000"])
      expect(() => setName(bad), JSON.stringify(bad)).toThrow(InvalidArgumentError);
    expect(weight("1")).toBe(1);
    expect(weight("0.1")).toBe(0.1);
    expect(weight(".5")).toBe(0.5);
    for (const bad of ["0", "0.0", "1.01", "-0.1", "abc", "1e-1", ""])
      expect(() => weight(bad), bad).toThrow(InvalidArgumentError);
    expect(seed("18446744073709551615")).toBe(2n ** 64n - 1n);
    for (const bad of ["-1", "18446744073709551616", "1.5", "x"])
      expect(() => seed(bad), bad).toThrow(InvalidArgumentError);
    expect(runTag("retrieval@v2")).toBe("retrieval@v2");
    expect(() => runTag("two words")).toThrow(InvalidArgumentError);
    expect(reason("p95 up")).toBe("p95 up");
    expect(() => reason("a\u001b[2Jb")).toThrow(InvalidArgumentError);
    // The control-character check must not depend on an earlier call (no global-regex state).
    expect(() => reason("x\u0007")).toThrow(InvalidArgumentError);
  });

  it("evalset import takes TREC files or a JSONL file, not a mix", () => {
    const base = { tenant: "a", name: "s" };
    expect(importForm({ ...base, topics: "t", qrels: "q" })).toBe("trec");
    expect(importForm({ ...base, jsonl: "j" })).toBe("jsonl");
    expect(() => importForm({ ...base, topics: "t" })).toThrow(UsageError);
    expect(() => importForm({ ...base, jsonl: "j", topics: "t" })).toThrow(UsageError);
    expect(() => importForm({ ...base, jsonl: "j", keep: "odd" })).toThrow(/--keep/);
  });

  it("promote: --weight belongs to a canary, which defaults to 0.1", () => {
    expect(promoteRequest("retrieval@v3", { tenant: "a", alias: "canary" })).toMatchObject({
      alias: "canary",
      weight: 0.1,
    });
    expect(
      promoteRequest("retrieval@v3", { tenant: "a", alias: "canary", weight: 0.5 }).weight,
    ).toBe(0.5);
    expect(promoteRequest("retrieval@v3", { tenant: "a", alias: "prod" }).weight).toBe(1);
    expect(() =>
      promoteRequest("retrieval@v3", { tenant: "a", alias: "prod", weight: 0.5 }),
    ).toThrow(UsageError);
  });
});

describe("input files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tailor-input-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a UTF-8 file; refuses a missing file, a folder, a file over the limit and bad UTF-8", async () => {
    const ok = join(dir, "ok.tsv");
    await writeFile(ok, "1\tcafé\n");
    expect(await readInputFile(ok, "--topics")).toBe("1\tcafé\n");
    await expect(readInputFile(join(dir, "nope"), "--topics")).rejects.toThrow(
      `--topics ${join(dir, "nope")}: no such file`,
    );
    await expect(readInputFile(dir, "--qrels")).rejects.toThrow("is a folder");
    await expect(readInputFile(ok, "--topics", 4)).rejects.toThrow(/over the limit/);
    const bad = join(dir, "bad.tsv");
    await writeFile(bad, Buffer.from([0x31, 0x09, 0xff, 0xfe, 0x0a]));
    await expect(readInputFile(bad, "--topics")).rejects.toThrow(CliError);
    await expect(readInputFile(bad, "--topics")).rejects.toThrow("not valid UTF-8");
  });
});

describe("progress of a training job", () => {
  it("a bar that fits the terminal, and plain lines", () => {
    const bar = progressBar(job(), 65_000, 100);
    expect(bar).toMatch(/^\[#+-+\] {2}42% running {2}adapter epoch 3\/20 {2}1m05s$/);
    expect(bar.length).toBeLessThan(100);
    expect(progressBar(job({ stage: "x".repeat(300) }), 0, 60).length).toBeLessThanOrEqual(59);
    expect(progressBar(job({ progress: 7 }), 0, 80)).toContain("100%");
    expect(progressBar(job({ progress: Number.NaN }), 0, 80)).toContain("  0%");
    expect(progressLine(job(), 5_000)).toBe("job job-1 running 42% adapter epoch 3/20 (5s)");
    expect(progressLine(job({ stage: "evil\u001b[2J" }), 0)).not.toContain("\u001b");
    expect(duration(3_725_000)).toBe("1h02m");
  });

  it("on a terminal: redrawn in place, at most 10 times a second, a newline at the end", () => {
    let t = 0;
    const out: string[] = [];
    const p = new JobProgress(
      { isTTY: true, columns: 80, write: (s) => out.push(s) },
      true,
      () => t,
    );
    p.update(job({ progress: 0.1 }));
    t = 50;
    p.update(job({ progress: 0.2 }));
    t = 150;
    p.update(job({ progress: 0.3 }));
    t = 160;
    p.update(job({ state: JobState.SUCCEEDED, progress: 1 }));
    p.stop();
    expect(out).toHaveLength(4);
    expect(out.slice(0, 3).every((s) => s.startsWith("\r\u001b[K["))).toBe(true);
    // The update 50 ms after the first is not drawn; the end is drawn at once.
    expect(out[1]).toContain(" 30% running");
    expect(out[2]).toContain("100% succeeded");
    expect(out[3]).toBe("\n");
    const zero: string[] = [];
    new JobProgress({ isTTY: true, columns: 0, write: (s) => zero.push(s) }, true).update(job());
    expect(zero[0]).toContain("42% running");
  });

  it("in a log: a line on news only, at most two a second, state changes always", () => {
    let t = 0;
    const out: string[] = [];
    const p = new JobProgress({ isTTY: false, write: (s) => out.push(s) }, true, () => t);
    p.update(job({ state: JobState.QUEUED, progress: 0, stage: "" }));
    for (let i = 1; i <= 100; i++) {
      t += 10;
      p.update(job({ progress: i / 200, stage: "epoch 1/2" }));
    }
    t += 10;
    p.update(job({ state: JobState.SUCCEEDED, progress: 1, stage: "done" }));
    p.stop();
    // queued, the change to running, two more in one second of updates, succeeded.
    expect(out.length).toBeLessThanOrEqual(6);
    expect(out[0]).toBe("job job-1 queued 0% (0s)\n");
    expect(out[1]).toContain("running");
    expect(out.at(-1)).toContain("succeeded 100% done");
    expect(out.every((l) => l.endsWith("\n") && !l.includes("\r"))).toBe(true);
    const silent: string[] = [];
    const off = new JobProgress({ isTTY: true, write: (s) => silent.push(s) }, false);
    off.update(job());
    off.stop();
    expect(silent).toEqual([]);
  });
});

describe("what train and eval print", () => {
  it("a succeeded job: the version is the last stdout line; --json has job and version", () => {
    const done = job({
      state: JobState.SUCCEEDED,
      progress: 1,
      version: "retrieval@v2",
      datasetHash: "sha256:0123456789abcdef0123",
      metrics: { train_loss: 0.123456, heldout_ndcg_cut_10: 0.5 },
    });
    const r = jobResult(done, 61_000);
    expect(r.error).toBeUndefined();
    expect(r.stdout.at(-1)).toBe("retrieval@v2");
    expect(r.stdout[0]).toBe(
      "job job-1 succeeded in 1m01s: all on eval set train (base retrieval@v1, seed 42, dataset sha256:0123456789ab)",
    );
    expect(r.stdout[1]).toBe("metrics: heldout_ndcg_cut_10=0.5 train_loss=0.1235");
    expect(jobJson(done)).toMatchObject({
      job: "job-1",
      version: "retrieval@v2",
      state: "succeeded",
      seed: 42,
      metrics: { train_loss: 0.123456 },
    });
    expect(jobJson(job({ seed: 2n ** 63n })).seed).toBe("9223372036854775808");
  });

  it("a failed or cancelled job is an error naming the job and its reason", () => {
    const failed = jobResult(job({ state: JobState.FAILED, error: "no judged queries" }), 0);
    expect(failed.stdout).toEqual([]);
    expect(failed.error).toBe("training job job-1 failed: no judged queries");
    expect(jobResult(job({ state: JobState.CANCELLED }), 0).error).toBe(
      "training job job-1 was cancelled",
    );
    expect(jobResult(job({ state: JobState.SUCCEEDED }), 0).error).toContain("named no version");
  });

  it("eval: version, eval_set, trec_eval metrics with latency and queries, run, report", () => {
    const r = create(EvaluateResponseSchema, {
      run: "run-1",
      version: "retrieval@v2",
      evalSet: "heldout",
      report: "rep-1",
      metrics: create(MetricsSchema, {
        values: { ndcg_cut_10: 0.41, map: 0.3, recip_rank: 0.5, recall_100: 0.8, P_10: 0.2 },
        latencyP50Ms: 12.5,
        latencyP95Ms: 40,
        queries: 25,
      }),
    });
    expect(evalJson(r)).toEqual({
      version: "retrieval@v2",
      eval_set: "heldout",
      metrics: {
        P_10: 0.2,
        map: 0.3,
        ndcg_cut_10: 0.41,
        recall_100: 0.8,
        recip_rank: 0.5,
        latency_p50_ms: 12.5,
        latency_p95_ms: 40,
        queries: 25,
      },
      run: "run-1",
      report: "rep-1",
    });
  });

  it("an eval set in one line and as JSON", () => {
    const s = create(EvalSetSchema, {
      tenant: "acme",
      name: "train",
      hash: "ab12",
      queryCount: 50,
      judgedQueryCount: 48,
      createdAt: "2026-11-30T16:00:00.123Z",
    });
    expect(evalSetLine(s, "imported ")).toBe(
      "imported train: 50 queries, 48 judged, hash ab12, created 2026-11-30T16:00:00Z",
    );
    expect(evalSetJson(s)).toEqual({
      tenant: "acme",
      name: "train",
      createdAt: "2026-11-30T16:00:00.123Z",
      hash: "ab12",
      queryCount: 50,
      judgedQueryCount: 48,
    });
  });
});
