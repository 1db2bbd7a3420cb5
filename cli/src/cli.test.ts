import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, runCli } from "./run-cli.js";

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("tailor without a stack: help, versions, usage errors and exit codes", () => {
  let cwd: string;
  beforeAll(async () => {
    await buildCli();
    // Anywhere but the repository: the bin must not depend on the working directory.
    cwd = await mkdtemp(join(tmpdir(), "tailor-cli-cwd-"));
  }, 120_000);
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it("--help lists the commands, examples and exit codes; --version prints the version", async () => {
    const help = await runCli(["--help"], { cwd });
    expect(help.code).toBe(0);
    for (const c of [
      "ingest",
      "search",
      "stats",
      "list",
      "get",
      "delete",
      "evalset",
      "train",
      "eval",
      "models",
    ])
      expect(help.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
    expect(help.stdout).toContain("Exit codes:");
    expect(help.stdout).toContain("Examples:");
    const version = await runCli(["--version"], { cwd });
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("every command has --help with examples", async () => {
    for (const args of [
      ["ingest"],
      ["search"],
      ["stats"],
      ["list"],
      ["get"],
      ["delete"],
      ["models"],
      ["models", "publish"],
      ["models", "list"],
      ["models", "show"],
      ["models", "promote"],
      ["models", "rollback"],
      ["evalset"],
      ["evalset", "import"],
      ["evalset", "list"],
      ["train"],
      ["train", "watch"],
      ["train", "cancel"],
      ["train", "list"],
      ["eval"],
    ]) {
      const r = await runCli([...args, "--help"], { cwd });
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout, args.join(" ")).toContain(`Usage: tailor ${args.join(" ")}`);
    }
    const ingest = await runCli(["help", "ingest"], { cwd });
    expect(ingest.code).toBe(0);
    expect(ingest.stdout).toContain("--on-error");
    expect(ingest.stdout).toContain("$ tailor ingest --tenant acme");
  }, 120_000);

  it("a misspelt command or option exits 2 with a suggestion", async () => {
    const cmd = await runCli(["serch", "--tenant", "a", "q"], { cwd });
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain("unknown command 'serch'");
    expect(cmd.stderr).toContain("did you mean search?");
    const opt = await runCli(["ingest", "--tenent", "a"], { cwd });
    expect(opt.code).toBe(2);
    expect(opt.stderr).toContain("did you mean --tenant?");
    const missing = await runCli(["stats"], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--tenant");
    // `train` runs and has subcommands: a misspelt one is reported as such, not as its options.
    const sub = await runCli(["train", "cancle", "--tenant", "a", "--job", "j"], { cwd });
    expect(sub.code).toBe(2);
    expect(sub.stderr.trim()).toBe(
      "tailor: unknown command 'cancle' — did you mean cancel? (see: tailor train --help)",
    );
    const group = await runCli(["evalset", "imprt"], { cwd });
    expect(group.stderr).toContain("did you mean import?");
  });

  it("the loop's values are checked before anything is sent", async () => {
    const both = await runCli(
      ["eval", "--tenant", "a", "--evalset", "s", "--version", "retrieval@v2", "--alias", "prod"],
      { cwd },
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("cannot be used with option '--alias <alias>'");
    const weight = await runCli(
      ["models", "promote", "--tenant", "a", "retrieval@v2", "--alias", "canary", "--weight", "0"],
      { cwd },
    );
    expect(weight.code).toBe(2);
    expect(weight.stderr).toContain("above 0 and at most 1");
    const version = await runCli(["search", "--tenant", "a", "--version", "v2", "q"], { cwd });
    expect(version.code).toBe(2);
    expect(version.stderr).toContain("Expected a registry version such as retrieval@v2");
    const file = await runCli(
      ["evalset", "import", "--tenant", "a", "--name", "s", "--topics", "nope.tsv", "--qrels", "q"],
      { cwd },
    );
    expect(file.code).toBe(1);
    expect(file.stderr.trim()).toBe("tailor: --topics nope.tsv: no such file");
  });

  it('--tenant "acme corp" is one line naming the rule, exit 2, no stack trace', async () => {
    const r = await runCli(["search", "--tenant", "acme corp", "hello"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("'acme corp' is invalid");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
  });

  it("a stack that is down: the service, its address, the code name and a hint, exit 1, quickly", async () => {
    const port = await deadPort();
    const r = await runCli(["stats", "--tenant", "acme"], {
      cwd,
      env: { TAILOR_RETRIEVAL_URL: `http://127.0.0.1:${port}` },
      timeoutMs: 15_000,
    });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `tailor: retrieval at 127.0.0.1:${port} is not answering (UNAVAILABLE) — is the stack up? npm run up (or set TAILOR_RETRIEVAL_URL)`,
    );
    const trainer = await runCli(["train", "--tenant", "a", "--kind", "all", "--evalset", "s"], {
      cwd,
      env: { TAILOR_TRAINER_URL: `http://127.0.0.1:${port}` },
      timeoutMs: 15_000,
    });
    expect(trainer.code).toBe(1);
    expect(trainer.stderr.trim()).toBe(
      `tailor: trainer at 127.0.0.1:${port} is not answering (UNAVAILABLE) — is the stack up? npm run up (or set TAILOR_TRAINER_URL)`,
    );
  });

  it("ingest with NATS unreachable fails within seconds naming the URL", async () => {
    const port = await deadPort();
    const r = await runCli(["ingest", "--tenant", "acme", "--dir", cwd], {
      cwd,
      env: { TAILOR_NATS_URL: `nats://127.0.0.1:${port}` },
      timeoutMs: 15_000,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`NATS at nats://127.0.0.1:${port} is not answering`);
    expect(r.ms).toBeLessThan(10_000);
  });

  it("models publish of a folder without config.json lists what a model folder needs", async () => {
    const r = await runCli(["models", "publish", cwd, "--name", "m", "--version", "1"], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is not a model folder: no config.json, no model.onnx");
    expect(r.stderr).toContain("tokenizer.json");
    expect(r.stderr).not.toContain("ENOENT");
  });

  it("starts well under a second from the bundle", async () => {
    const best = async (args: string[], bin?: string) => {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        if (bin) await promisify(execFile)(bin, args);
        else await runCli(args, { cwd });
        times.push(Date.now() - started);
      }
      return Math.min(...times);
    };
    // Measured against Node's own start on this machine, so a busy test machine does not decide it.
    const node = await best(["-e", ""], process.execPath);
    expect((await best(["--version"])) - node).toBeLessThan(500);
    expect((await best(["--help"])) - node).toBeLessThan(500);
  });
});
