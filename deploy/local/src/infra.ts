import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { say } from "./output.js";

export interface Started {
  url: string;
  /** Stops what this run started; a no-op for a reused server. */
  stop: () => Promise<void>;
  kind: "reused" | "started" | "pglite";
}

/** True when something accepts TCP connections at host:port within the timeout. */
export function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

export async function waitReachable(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await reachable(host, port, 500)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** The path of an executable on PATH or in the sbin folders. */
export function which(bin: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "")
    .split(":")
    .concat(["/usr/sbin", "/usr/local/sbin", "/sbin"])) {
    const p = join(dir, bin);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

let aptUpdated = false;
/** Installs a Debian package when we are root and apt-get exists; returns whether it worked. */
export function aptInstall(pkgs: string[]): boolean {
  if (process.getuid?.() !== 0 || !which("apt-get")) return false;
  try {
    say("setup", `installing ${pkgs.join(" ")} with apt-get (one time)`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    if (!aptUpdated) {
      execFileSync("apt-get", ["update", "-qq"], { stdio: "ignore", env, timeout: 300_000 });
      aptUpdated = true;
    }
    execFileSync("apt-get", ["install", "-y", "-qq", ...pkgs], {
      stdio: "ignore",
      env,
      timeout: 600_000,
    });
    return true;
  } catch (err) {
    say(
      "setup",
      `apt-get install ${pkgs.join(" ")} failed: ${(err as Error).message.split("\n")[0]}`,
    );
    return false;
  }
}

/**
 * Reuses the NATS server at `url` when one answers; otherwise starts a local `nats-server -js`
 * (installing Debian's package when it is missing and we can).
 */
export async function ensureNats(url: string, dataDir: string): Promise<Started> {
  const u = new URL(url.replace(/^nats:/, "http:"));
  const host = u.hostname;
  const port = Number(u.port || 4222);
  if (await reachable(host, port)) return { url, stop: async () => {}, kind: "reused" };
  let bin = which("nats-server");
  if (!bin && aptInstall(["nats-server"])) bin = which("nats-server");
  if (!bin) {
    throw new Error(
      `no NATS at ${url} and no nats-server binary; install it (apt-get install nats-server) or set TAILOR_NATS_URL`,
    );
  }
  const store = join(dataDir, "nats");
  mkdirSync(store, { recursive: true });
  say("setup", `starting ${bin} -js on ${host}:${port} (store ${store})`);
  const child = spawn(bin, ["-js", "-a", host, "-p", String(port), "-sd", store], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr?.on("data", () => {});
  if (!(await waitReachable(host, port, 15_000))) {
    child.kill("SIGKILL");
    throw new Error(`nats-server did not start on ${host}:${port}`);
  }
  return { url, stop: () => stopChild(child), kind: "started" };
}

export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
