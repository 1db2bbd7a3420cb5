import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { defaultPorts } from "@tailor/config";
import { Health, HealthCheckResponse_ServingStatus } from "@tailor/proto";
import { stopChild } from "./infra.js";
import { prettyLogLine, say } from "./output.js";

export const SERVICES = ["model-server", "ingestion", "embedding", "retrieval"] as const;
export type ServiceName = (typeof SERVICES)[number];

export const servicePorts: Record<ServiceName, number> = {
  "model-server": defaultPorts.modelServer,
  ingestion: defaultPorts.ingestion,
  embedding: defaultPorts.embedding,
  retrieval: defaultPorts.retrieval,
};

const portVar: Record<ServiceName, string> = {
  "model-server": "TAILOR_MODEL_SERVER_PORT",
  ingestion: "TAILOR_INGESTION_PORT",
  embedding: "TAILOR_EMBEDDING_PORT",
  retrieval: "TAILOR_RETRIEVAL_PORT",
};

export interface StackOptions {
  root: string;
  env: NodeJS.ProcessEnv;
  ports?: Partial<Record<ServiceName, number>>;
  /** Print each service's log lines with a prefix (default true). */
  logs?: boolean;
}

/** Every Tailor service as its own process, with prefixed logs, health waits and clean stop. */
export class Stack {
  private readonly children = new Map<ServiceName, ChildProcess>();
  readonly ports: Record<ServiceName, number>;

  constructor(private readonly o: StackOptions) {
    this.ports = { ...servicePorts, ...o.ports };
  }

  url(name: ServiceName): string {
    return `http://127.0.0.1:${this.ports[name]}`;
  }

  /** Starts one service process (again, after a kill). */
  startService(name: ServiceName): ChildProcess {
    const entry = join(this.o.root, "services", name, "src", "main.ts");
    const env: NodeJS.ProcessEnv = {
      ...this.o.env,
      [portVar[name]]: String(this.ports[name]),
      TAILOR_MODEL_SERVER_URL: this.url("model-server"),
    };
    // TAILOR_PROFILE_DIR=/some/dir writes a V8 CPU profile of every service when it exits.
    const profile = this.o.env["TAILOR_PROFILE_DIR"]
      ? ["--cpu-prof", `--cpu-prof-dir=${this.o.env["TAILOR_PROFILE_DIR"]}`]
      : [];
    const child = spawn(process.execPath, [...profile, "--import", "tsx", entry], {
      cwd: this.o.root,
      env,
      // An IPC channel lets a service notice when this launcher dies, however it dies.
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const show = this.o.logs !== false;
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      const rl = createInterface({ input: stream });
      rl.on("line", (line) => {
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

  /** Waits until every started service reports SERVING on grpc.health.v1. */
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
          if (child && child.exitCode !== null)
            throw new Error(`${name} exited with code ${child.exitCode} during start-up`);
          try {
            const r = await client.check({ service: "" }, { timeoutMs: 1000 });
            if (r.status === HealthCheckResponse_ServingStatus.SERVING) return;
          } catch {
            // not up yet
          }
          if (Date.now() > end) throw new Error(`${name} was not healthy after ${timeoutMs} ms`);
          await new Promise((r) => setTimeout(r, 250));
        }
      }),
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
    const order: ServiceName[] = ["ingestion", "embedding", "retrieval", "model-server"];
    for (const n of order) {
      const c = this.children.get(n);
      if (c) await stopChild(c, 15_000);
    }
    this.children.clear();
  }
}
