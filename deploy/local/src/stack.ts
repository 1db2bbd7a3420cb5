import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  SERVICE_SPECS,
  type ServiceName,
  serviceSpec,
  startOrder,
  stopOrder,
} from "@tailor/config";
import { Health, HealthCheckResponse_ServingStatus } from "@tailor/proto";
import { PORT_VARS } from "./env.js";
import { stopChild } from "./infra.js";
import { prettyLogLine, say } from "./output.js";
import { assertPortsFree, PortInUseError } from "./ports.js";

/** Every declared service (libs/config/src/services.ts), dependencies first. */
export const SERVICES: readonly ServiceName[] = startOrder();
export type { ServiceName };

export const servicePorts = Object.fromEntries(
  SERVICE_SPECS.map((s) => [s.name, s.port]),
) as Record<ServiceName, number>;

/** Services another one depends on: every process gets their `<PREFIX>_URL`, set to this stack's. */
const DEPENDED_ON = SERVICE_SPECS.filter((s) =>
  SERVICE_SPECS.some((o) => o.dependsOn.includes(s.name)),
);

export interface StackOptions {
  root: string;
  env: NodeJS.ProcessEnv;
  ports?: Partial<Record<ServiceName, number>>;
  /** Print each service's log lines with a prefix (default true). */
  logs?: boolean;
  /** Receives every line a service writes to stdout or stderr (e.g. for tests that check logs). */
  onLog?: (service: ServiceName, line: string) => void;
}

interface ChildState {
  /** The process said it started (over IPC): the port answering is ours, not another stack's. */
  ready: boolean;
  /** Message of its last fatal/error log line, to explain an early exit. */
  lastError?: string;
  /** Its last stderr line that is no log line (a crash before the logger was up). */
  lastStderr?: string;
}

/** Every Tailor service as its own process, with prefixed logs, health waits and clean stop. */
export class Stack {
  private readonly children = new Map<ServiceName, ChildProcess>();
  private readonly states = new WeakMap<ChildProcess, ChildState>();
  readonly ports: Record<ServiceName, number>;
  /** The address the services listen on (TAILOR_HOST). */
  readonly host: string;

  constructor(private readonly o: StackOptions) {
    this.ports = { ...servicePorts, ...o.ports };
    this.host = o.env["TAILOR_HOST"] || "127.0.0.1";
  }

  url(name: ServiceName): string {
    const h = this.host === "0.0.0.0" || this.host === "::" ? "127.0.0.1" : this.host;
    return `http://${h.includes(":") ? `[${h}]` : h}:${this.ports[name]}`;
  }

  /**
   * Checks that every port is free, starts the services and waits until each reports SERVING;
   * a taken port fails at once with a PortInUseError naming it.
   */
  async start(timeoutMs = 180_000, names: readonly ServiceName[] = SERVICES): Promise<void> {
    await assertPortsFree(
      this.host,
      names.map((n) => ({ service: n, port: this.ports[n], variable: PORT_VARS[n] })),
    );
    this.startAll(names);
    try {
      await this.waitHealthy(timeoutMs, names);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Starts one service process (again, after a kill). */
  startService(name: ServiceName): ChildProcess {
    const entry = join(this.o.root, serviceSpec(name).entry);
    const env: NodeJS.ProcessEnv = {
      ...this.o.env,
      [PORT_VARS[name]]: String(this.ports[name]),
      ...Object.fromEntries(DEPENDED_ON.map((d) => [d.urlVar, this.url(d.name)])),
    };
    // TAILOR_PROFILE_DIR=/some/dir writes a V8 CPU profile of every service when it exits.
    const profile = this.o.env["TAILOR_PROFILE_DIR"]
      ? ["--cpu-prof", `--cpu-prof-dir=${this.o.env["TAILOR_PROFILE_DIR"]}`]
      : [];
    const child = spawn(process.execPath, [...profile, "--import", "tsx", entry], {
      cwd: this.o.root,
      env,
      // The IPC channel carries the service's "ready" and lets it notice when this launcher dies.
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const state: ChildState = { ready: false };
    this.states.set(child, state);
    child.on("message", (m: unknown) => {
      if (m && typeof m === "object" && (m as { tailor?: unknown }).tailor === "ready")
        state.ready = true;
    });
    const show = this.o.logs !== false;
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      const rl = createInterface({ input: stream });
      rl.on("line", (line) => {
        this.o.onLog?.(name, line);
        const problem = errorOf(line);
        if (problem) state.lastError = problem;
        else if (stream === child.stderr && /Error\b/.test(line) && !line.startsWith("{"))
          state.lastStderr = line.trim().slice(0, 300);
        if (show) say(name, prettyLogLine(line));
      });
    }
    child.once("exit", (code, signal) => {
      if (this.children.get(name) === child && show) say(name, `exited (${signal ?? code})`);
    });
    this.children.set(name, child);
    return child;
  }

  startAll(names: readonly ServiceName[] = SERVICES): void {
    for (const n of names) this.startService(n);
  }

  /**
   * Waits until every started service has said over IPC that it started and reports SERVING on
   * grpc.health.v1; fails as soon as one exits, with the reason it logged.
   */
  async waitHealthy(
    timeoutMs = 180_000,
    names: readonly ServiceName[] = [...this.children.keys()],
  ): Promise<void> {
    const end = Date.now() + timeoutMs;
    await Promise.all(
      names.map(async (name) => {
        const client = createClient(Health, createGrpcTransport({ baseUrl: this.url(name) }));
        while (true) {
          const child = this.children.get(name);
          if (!child) throw new Error(`${name} was not started`);
          const state = this.states.get(child);
          if (child.exitCode !== null || child.signalCode !== null)
            throw this.startError(name, child, state);
          if (state?.ready) {
            try {
              const r = await client.check({ service: "" }, { timeoutMs: 1000 });
              if (r.status === HealthCheckResponse_ServingStatus.SERVING) return;
            } catch {
              // not serving yet
            }
          }
          if (Date.now() > end) throw new Error(`${name} was not healthy after ${timeoutMs} ms`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }),
    );
  }

  private startError(name: ServiceName, child: ChildProcess, state?: ChildState): Error {
    const why = state?.lastError ?? state?.lastStderr;
    if (why && /EADDRINUSE/.test(why))
      return new PortInUseError(this.ports[name], this.host, name, PORT_VARS[name]);
    return new Error(
      `${name} exited with ${child.signalCode ?? `code ${child.exitCode}`} during start-up${why ? `: ${why}` : ""}`,
    );
  }

  /** SIGKILL one service: a crash, for tests. */
  kill(name: ServiceName): Promise<void> {
    const child = this.children.get(name);
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  }

  /** SIGTERM every service, consumers first and the model-server last. */
  async stop(): Promise<void> {
    for (const n of stopOrder()) {
      const c = this.children.get(n);
      if (c) await stopChild(c, 15_000);
    }
    this.children.clear();
  }
}

/** The message (and error message) of a pino line at level error or fatal. */
function errorOf(line: string): string | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const j = JSON.parse(line) as { level?: number; msg?: unknown; err?: { message?: unknown } };
    if ((j.level ?? 0) < 50) return undefined;
    const detail = typeof j.err?.message === "string" ? `: ${j.err.message}` : "";
    return `${String(j.msg ?? "")}${detail}`;
  } catch {
    return undefined;
  }
}
