import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const CLI = fileURLToPath(new URL("..", import.meta.url));
const BIN = `${CLI}bin/tailor.js`;

/** Bundles cli/dist the way `npm run build -w cli` does, so the tests run what users run. */
export async function buildCli(): Promise<void> {
  await promisify(execFile)(process.execPath, [`${CLI}scripts/build.mjs`], { timeout: 120_000 });
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `tailor ...args` as a user would: a process of its own, in `cwd`, with `env` only. */
export function runCli(
  args: string[],
  o: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: o.cwd ?? CLI,
      env: { PATH: process.env["PATH"] ?? "", ...o.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`tailor ${args.join(" ")} still running after ${o.timeoutMs ?? 60_000} ms`));
    }, o.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}
