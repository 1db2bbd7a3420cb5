import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "./entry.js";
import { buildCli } from "./run-cli.js";
import { type Doubles, startDoubles } from "./test-doubles.js";

const VARS = [
  "TAILOR_REGISTRY_URL",
  "TAILOR_TRAINER_URL",
  "TAILOR_EVALUATOR_URL",
  "TAILOR_RETRIEVAL_URL",
] as const;

describe("the customisation loop's commands against doubles of our services", () => {
  let d: Doubles;
  let dir: string;
  const saved = new Map<string, string | undefined>();

  /** `tailor …` in-process: exit code, console.log lines and stderr. */
  const tailor = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
      out.push(a.join(" "));
    });
    const write = vi.spyOn(process.stderr, "write").mockImplementation((s) => {
      err.push(String(s));
      return true;
    });
    try {
      const code = await main(args);
      return {
        code,
        lines: out.join("\n").split("\n"),
        stdout: out.join("\n"),
        stderr: err.join(""),
      };
    } finally {
      log.mockRestore();
      write.mockRestore();
    }
  };
  const sent = (method: string) => d.calls.filter((c) => c.method === method).at(-1)?.req;

  beforeAll(async () => {
    d = await startDoubles();
    dir = await mkdtemp(join(tmpdir(), "tailor-loop-"));
    for (const v of VARS) {
      saved.set(v, process.env[v]);
      process.env[v] = d.url;
    }
  });
  afterAll(async () => {
    for (const [v, value] of saved)
      if (value === undefined) delete process.env[v];
      else process.env[v] = value;
    await d?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("evalset import sends the files whole with --keep and --replace; prints the summary", async () => {
    const topics = join(dir, "topics.tsv");
    const qrels = join(dir, "qrels.txt");
    await writeFile(topics, "1\tfirst query\n2\tsecond query\n");
    await writeFile(qrels, "1 0 d1 2\n2 0 d2 1\n");
    const args = ["evalset", "import", "--tenant", "acme", "--name", "train"];
    const r = await tailor(
      ...args,
      "--topics",
      topics,
      "--qrels",
      qrels,
      "--keep",
      "odd",
      "--replace",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("imported train: 2 queries, 1 judged, hash h-trec");
    expect(sent("importTrec")).toMatchObject({
      tenant: "acme",
      name: "train",
      topics: "1\tfirst query\n2\tsecond query\n",
      qrels: "1 0 d1 2\n2 0 d2 1\n",
      keep: "odd",
      replace: true,
    });
    const json = await tailor(...args, "--topics", topics, "--qrels", qrels, "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({ name: "train", queryCount: 2, hash: "h-trec" });
    expect(sent("importTrec")).toMatchObject({ keep: "", replace: false });

    const jsonl = join(dir, "qa.jsonl");
    await writeFile(jsonl, '{"id":"q1","question":"why","answer":"because"}\n');
    const qa = await tailor(
      "evalset",
      "import",
      "--tenant",
      "acme",
      "--name",
      "qa",
      "--jsonl",
      jsonl,
    );
    expect(qa.code, qa.stderr).toBe(0);
    expect(sent("importJsonl")).toMatchObject({ tenant: "acme", name: "qa" });

    const list = await tailor("evalset", "list", "--tenant", "acme");
    expect(list.stdout).toBe("train: 2 queries, 2 judged, hash h1");
  });

  it("a bad line is named before anything is sent", async () => {
    const before = d.calls.length;
    const topics = join(dir, "bad-topics.tsv");
    await writeFile(topics, "1\tok\nno tab here\n");
    const r = await tailor(
      "evalset",
      "import",
      "--tenant",
      "acme",
      "--name",
      "x",
      "--topics",
      topics,
      "--qrels",
      topics,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`tailor: ${topics}:2: expected qid<TAB>query\n`);
    expect(d.calls.length).toBe(before);
  });

  it("train waits through WatchJob, shows progress on stderr, prints the version last", async () => {
    const r = await tailor(
      "train",
      "--tenant",
      "acme",
      "--kind",
      "all",
      "--evalset",
      "ok",
      "--seed",
      "7",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines.at(-1)).toBe("retrieval@v2");
    expect(r.stdout).toContain("metrics: train_loss=0.25");
    expect(sent("startTraining")).toMatchObject({
      tenant: "acme",
      kind: "all",
      evalSet: "ok",
      seed: 7n,
    });
    // stderr is not a terminal here: plain lines, never a carriage return.
    expect(r.stderr).toContain("(Ctrl-C stops waiting, not the job)");
    expect(r.stderr).toMatch(/job job-\d+ running 50% epoch 2\/2/);
    expect(r.stderr).not.toContain("\r");

    const json = await tailor(
      "train",
      "--tenant",
      "acme",
      "--kind",
      "reranker",
      "--evalset",
      "ok",
      "--json",
      "--no-progress",
    );
    expect(json.code).toBe(0);
    expect(json.stderr).toBe("");
    expect(JSON.parse(json.stdout)).toMatchObject({
      version: "retrieval@v2",
      state: "succeeded",
      job: expect.stringMatching(/^job-/),
    });
  });

  it("train --kind guard needs no eval set; the other kinds still do", async () => {
    const r = await tailor("train", "--tenant", "acme", "--kind", "guard", "--no-progress");
    expect(r.code, r.stderr).toBe(0);
    expect(sent("startTraining")).toMatchObject({ tenant: "acme", kind: "guard", evalSet: "" });
    expect(r.stdout).not.toContain("on eval set");
    const missing = await tailor("train", "--tenant", "acme", "--kind", "reranker");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--evalset <name>' not specified");
  });

  it("a failed job exits 1 with the job's error; a broken stream is reconnected", async () => {
    const failed = await tailor("train", "--tenant", "acme", "--kind", "all", "--evalset", "fail");
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /tailor: training job job-\d+ failed: eval set fail has no judged queries\n$/,
    );
    expect(failed.stdout).toBe("");

    const flaky = await tailor("train", "--tenant", "acme", "--kind", "all", "--evalset", "flaky");
    expect(flaky.code, flaky.stderr).toBe(0);
    expect(flaky.stderr).toContain("lost the trainer");
    expect(flaky.lines.at(-1)).toBe("retrieval@v2");
  });

  it("--no-wait prints the job id; watch, cancel and list follow it", async () => {
    const r = await tailor(
      "train",
      "--tenant",
      "acme",
      "--kind",
      "adapter",
      "--evalset",
      "ok",
      "--no-wait",
    );
    expect(r.code).toBe(0);
    const id = r.stdout;
    expect(id).toMatch(/^job-\d+$/);
    expect(r.stderr).toContain(`tailor train watch --tenant acme --job ${id}`);
    const watch = await tailor("train", "watch", "--tenant", "acme", "--job", id, "--no-progress");
    expect(watch.lines.at(-1)).toBe("retrieval@v2");
    const list = await tailor("train", "list", "--tenant", "acme");
    expect(list.stdout).toContain(`${id}  adapter`);
    const cancel = await tailor("train", "cancel", "--tenant", "acme", "--job", id);
    expect(cancel.stdout).toBe(`job ${id} cancelled`);
    const other = await tailor("train", "watch", "--tenant", "other", "--job", id);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("(NOT_FOUND)");
  });

  it("eval prints the metrics as JSON for a version or an alias", async () => {
    const r = await tailor(
      "eval",
      "--tenant",
      "acme",
      "--evalset",
      "heldout",
      "--alias",
      "canary",
      "--depth",
      "50",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      version: "retrieval@v3",
      eval_set: "heldout",
      metrics: { map: 0.3, ndcg_cut_10: 0.4, latency_p50_ms: 5, latency_p95_ms: 9, queries: 2 },
      run: "run-1",
      report: "rep-1",
    });
    expect(sent("evaluate")).toMatchObject({ alias: "canary", version: "", depth: 50 });
    const missing = await tailor("eval", "--tenant", "acme", "--evalset", "missing");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("tailor: eval_set: no eval set missing (NOT_FOUND)\n");
  });

  it("search at a version or alias names it; a batch run at an alias is pinned and tagged", async () => {
    const one = await tailor("search", "--tenant", "acme", "--version", "retrieval@v2", "kayak");
    expect(one.code, one.stderr).toBe(0);
    expect(one.lines[0]).toBe("searched retrieval@v2 (index e5-small@abc)");
    expect(sent("search")).toMatchObject({ version: "retrieval@v2", alias: "" });

    const topics = join(dir, "run-topics.tsv");
    await writeFile(topics, "1\tkayak\n2\tcanoe\n3\tpaddle\n");
    const run = join(dir, "run.txt");
    const calls = d.calls.length;
    const r = await tailor(
      "search",
      "--tenant",
      "acme",
      "--alias",
      "canary",
      "--topics",
      topics,
      "--run",
      run,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("(searched retrieval@v3, tag retrieval@v3)");
    const searches = d.calls.slice(calls).filter((c) => c.method === "search");
    expect(searches.map((c) => c.req["version"])).toEqual([
      "retrieval@v3",
      "retrieval@v3",
      "retrieval@v3",
    ]);
    const rows = (await readFile(run, "utf8")).trim().split("\n");
    expect(rows).toHaveLength(6);
    expect(rows.every((l) => l.endsWith(" retrieval@v3"))).toBe(true);
    // Neither given: the first answer's version is used for the rest.
    const pinned = d.calls.length;
    await tailor("search", "--tenant", "acme", "--topics", topics, "--run", run, "--tag", "mine");
    const rest = d.calls.slice(pinned).filter((c) => c.method === "search");
    expect(rest.map((c) => c.req["version"])).toEqual(["", "retrieval@v1", "retrieval@v1"]);
    expect((await readFile(run, "utf8")).split("\n")[0]).toMatch(/ mine$/);
  });

  it("models list --tenant, show, promote and rollback talk to the registry", async () => {
    const list = await tailor("models", "list", "--tenant", "acme");
    expect(list.code, list.stderr).toBe(0);
    expect(list.lines[0]).toBe("retrieval  3 versions, latest retrieval@v3");
    expect(list.lines[1]).toBe("  prod    → retrieval@v1  weight 1");
    expect(list.lines[2]).toBe("  canary  → retrieval@v3  weight 0.1");
    const json = await tailor("models", "list", "--tenant", "acme", "--json");
    expect(JSON.parse(json.stdout)[0]).toMatchObject({
      model: "retrieval",
      latestVersion: "retrieval@v3",
    });

    const show = await tailor("models", "show", "--tenant", "acme", "retrieval@v2");
    expect(show.code, show.stderr).toBe(0);
    for (const line of [
      "  parent       retrieval@v1",
      "  job          job-7",
      "  dataset      sha256:feed",
      "  kind         all",
      "  artifacts    adapter@1",
      "  reports      rep-3",
      "  embedder     e5-small@abc",
    ])
      expect(show.stdout).toContain(line);
    const byAlias = await tailor(
      "models",
      "show",
      "--tenant",
      "acme",
      "--alias",
      "canary",
      "--json",
    );
    expect(JSON.parse(byAlias.stdout)).toMatchObject({
      version: "retrieval@v3",
      lineage: { trainingJob: "job-7", parentVersion: "retrieval@v1" },
      alias: { name: "canary" },
    });
    const all = await tailor("models", "show", "--tenant", "acme");
    expect(all.lines).toHaveLength(2);
    const missing = await tailor("models", "show", "--tenant", "acme", "retrieval@v9");
    expect(missing.stderr).toBe("tailor: no version retrieval@v9 (NOT_FOUND)\n");

    const promote = await tailor(
      "models",
      "promote",
      "--tenant",
      "acme",
      "retrieval@v3",
      "--alias",
      "canary",
      "--reason",
      "rep-9",
    );
    expect(promote.stdout).toBe("canary → retrieval@v3 (weight 0.1; was retrieval@v1)");
    expect(sent("promote")).toMatchObject({
      tenant: "acme",
      version: "retrieval@v3",
      alias: "canary",
      weight: 0.1,
      reason: "rep-9",
    });
    const rollback = await tailor("models", "rollback", "--tenant", "acme");
    expect(rollback.stdout).toBe("prod → retrieval@v1 (rolled back from retrieval@v2)");
    expect(sent("rollback")).toMatchObject({ model: "retrieval", alias: "prod" });
  });

  it("every request carried the tenant given on the command line", () => {
    const tenants = new Set(d.calls.map((c) => c.req["tenant"]));
    expect([...tenants].sort()).toEqual(["acme", "other"]);
    expect(d.calls.filter((c) => c.req["tenant"] === "other").map((c) => c.method)).toEqual([
      "getJob",
    ]);
  });

  it("Ctrl-C while waiting stops the wait, not the job, and says how to cancel it", async () => {
    await buildCli();
    const bin = fileURLToPath(new URL("../bin/tailor.js", import.meta.url));
    const child = spawn(
      process.execPath,
      [bin, "train", "--tenant", "acme", "--kind", "all", "--evalset", "slow"],
      {
        env: { PATH: process.env["PATH"] ?? "", TAILOR_TRAINER_URL: d.url },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    let stdout = "";
    let interrupted = false;
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
      if (!interrupted && s.includes("running 10%")) interrupted = child.kill("SIGINT");
    });
    const code = await new Promise<number | null>((r) => child.on("close", r));
    expect(code, stderr).toBe(130);
    expect(stdout).toBe("");
    expect(stderr).toMatch(
      /tailor: stopped waiting; job (job-\d+) goes on running — follow it: tailor train watch --tenant acme --job \1; cancel it: tailor train cancel --tenant acme --job \1\n$/,
    );
    const id = /job (job-\d+) goes on/.exec(stderr)?.[1] ?? "";
    expect(d.calls.some((c) => c.method === "cancelJob" && c.req["id"] === id)).toBe(false);
  }, 60_000);
});
