import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Bus, type BusAuth, consumerBacklog, type StreamKey } from "@tailor/bus";
import { ensureAdminToken, SERVICE_SPECS, serviceSpec } from "@tailor/config";
import { SERVICES, type ServiceName, Stack } from "@tailor/deploy-local";
import {
  EvaluatorService,
  IngestionService,
  RegistryService,
  RetrievalService,
  TrainerService,
} from "@tailor/proto";
import { GatewayService } from "@tailor/proto/gateway";
import {
  createTestDatabase,
  freePort,
  type TestDatabase,
  testNatsUrl,
  uniquePrefix,
  waitFor,
  withTestBusPrefix,
} from "@tailor/testing";
import pg from "pg";

export const ROOT = resolve(import.meta.dirname, "../../..");

/** A service descriptor (e.g. `RegistryService` of @tailor/proto). */
type DescService = Parameters<typeof createClient>[0];

/** What a harness starts unless told otherwise: the data path (and, by closure, the registry). */
export const DATA_PATH: readonly ServiceName[] = [
  "ingestion",
  "embedding",
  "retrieval",
  "model-server",
];

/** `names` and every service they depend on, transitively, in start order. */
export function withDependencies(names: readonly ServiceName[]): ServiceName[] {
  const need = new Set<ServiceName>();
  const add = (n: ServiceName) => {
    if (need.has(n)) return;
    need.add(n);
    for (const d of serviceSpec(n).dependsOn) add(d);
  };
  for (const n of names) add(n);
  return SERVICES.filter((n) => need.has(n));
}

/** A whole Tailor stack of the suite's own: own database, bus prefix, ports and data dir. */
export interface Harness {
  stack: Stack;
  bus: Bus;
  db: TestDatabase;
  sql: pg.Pool;
  prefix: string;
  /** TAILOR_DATA_DIR of the stack (the retrieval index lives in its `retrieval/`). */
  dataDir: string;
  /** The services this harness started (those asked for and their dependencies), in start order. */
  services: readonly ServiceName[];
  retrieval: Client<typeof RetrievalService>;
  ingestion: Client<typeof IngestionService>;
  registry: Client<typeof RegistryService>;
  /** Set when the trainer was started. */
  trainer?: Client<typeof TrainerService>;
  /** Set when the evaluator was started. */
  evaluator?: Client<typeof EvaluatorService>;
  /** Set when the inference-gateway was started (calls need `authorization: Bearer <key>`). */
  gateway?: Client<typeof GatewayService>;
  /** A client of any started service (throws for one that was not started). */
  client<S extends DescService>(service: ServiceName, descriptor: S): Client<S>;
  /**
   * Waits until every consumer of the started services has nothing pending or unacknowledged
   * and their outboxes are empty.
   */
  settle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(
  label: string,
  extraEnv: Record<string, string> = {},
  o: {
    natsUrl?: string;
    /** The bus prefix ("" for none, with a nats-server of the suite's own); unique by default. */
    prefix?: string;
    /** Credentials of the harness's own connection (services get theirs through extraEnv). */
    natsAuth?: BusAuth;
    /** Receives every line each service writes (for tests that check what is logged). */
    onLog?: (service: ServiceName, line: string) => void;
    /**
     * Services to start, with everything they depend on (default DATA_PATH, so the trainer and
     * evaluator only when asked for).
     */
    services?: readonly ServiceName[];
  } = {},
): Promise<Harness> {
  const natsUrl = o.natsUrl ?? testNatsUrl();
  const prefix = o.prefix ?? uniquePrefix(label);
  const db = await createTestDatabase(label);
  const dataDir = await mkdtemp(join(tmpdir(), `tailor-${label}-`));
  const modelDir = await suiteModelDir(dataDir);
  const services = withDependencies(o.services ?? DATA_PATH);
  // Every declared service gets a port of the suite's own, started or not, so no URL a service
  // is given can reach another stack on the default ports.
  const ports = Object.fromEntries(
    await Promise.all(SERVICES.map(async (s) => [s, await freePort()] as const)),
  ) as Record<ServiceName, number>;
  const stack = new Stack({
    root: ROOT,
    ports,
    logs: process.env["TAILOR_TEST_SHOW_LOGS"] === "1",
    onLog: o.onLog,
    env: {
      ...process.env,
      TAILOR_NATS_URL: natsUrl,
      TAILOR_DATABASE_URL: db.url,
      TAILOR_BUS_PREFIX: prefix,
      TAILOR_DATA_DIR: dataDir,
      TAILOR_MODEL_SERVER_MODEL_DIR: modelDir,
      // Adapters a trainer publishes are loaded through the model-server's admin RPCs.
      TAILOR_MODEL_SERVER_ADMIN_TOKEN: randomBytes(24).toString("hex"),
      // Written to the data dir, where a suite (and the CLI) read it: readAdminToken(dataDir, {}, "inference-gateway").
      TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN: ensureAdminToken(dataDir, {}, "inference-gateway"),
      TAILOR_LOG_LEVEL: process.env["TAILOR_LOG_LEVEL"] ?? "warn",
      ...extraEnv,
    },
  });
  await stack.start(240_000, services);
  const bus = await Bus.connect({ url: natsUrl, name: `test-${label}`, prefix, auth: o.natsAuth });
  const sql = new pg.Pool({ connectionString: db.url, max: 2 });
  const transport = (name: ServiceName) => createGrpcTransport({ baseUrl: stack.url(name) });
  const started = (name: ServiceName) => services.includes(name);
  const client = <S extends DescService>(name: ServiceName, descriptor: S): Client<S> => {
    if (!started(name)) throw new Error(`${name} was not started by this harness`);
    return createClient(descriptor, transport(name));
  };
  // In pipeline (declaration) order, so that each waits after the one upstream has settled.
  const settle = async (timeoutMs = 120_000) => {
    // Retrieval listens before the model-server has named its default version (keyword search
    // need not wait); what a suite asserts after settling assumes it is known.
    if (started("retrieval")) {
      const retrieval = client("retrieval", RetrievalService);
      await waitFor(
        async () =>
          (await retrieval.stats({ tenant: "settle" }).catch(() => undefined))?.modelVersion,
        { timeoutMs, what: "retrieval's default index version to be resolved", intervalMs: 200 },
      );
    }
    for (const service of SERVICE_SPECS.filter((s) => started(s.name))) {
      for (const { stream, durable } of service.consumes) {
        await waitFor(
          async () => {
            const b = await consumerBacklog(bus, stream as StreamKey, durable).catch(
              () => undefined,
            );
            return b !== undefined && b.consumers > 0 && b.messages === 0;
          },
          { timeoutMs, what: `${durable} to catch up`, intervalMs: 200 },
        );
      }
      const outbox = service.outbox;
      if (outbox) {
        // The outbox relay publishes right after commit; give it a moment to empty.
        await waitFor(
          async () =>
            Number((await sql.query(`select count(*)::int as n from ${outbox}`)).rows[0].n) === 0,
          { timeoutMs, what: `${outbox} to drain` },
        );
      }
    }
  };
  return {
    stack,
    bus,
    db,
    sql,
    prefix,
    dataDir,
    services,
    retrieval: createClient(RetrievalService, transport("retrieval")),
    ingestion: createClient(IngestionService, transport("ingestion")),
    registry: createClient(RegistryService, transport("registry")),
    trainer: started("trainer") ? client("trainer", TrainerService) : undefined,
    evaluator: started("evaluator") ? client("evaluator", EvaluatorService) : undefined,
    gateway: started("inference-gateway") ? client("inference-gateway", GatewayService) : undefined,
    client,
    settle,
    close: async () => {
      await stack.stop();
      await bus.close();
      await sql.end();
      await db.drop().catch(() => {});
      if (!o.natsUrl) await (await withTestBusPrefix(prefix)).cleanup().catch(() => {});
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The suite's own model folder: the shared, read-only models (the converted default embedder)
 * linked in, so that what a suite publishes (a trained adapter) stays in the suite's data dir.
 */
async function suiteModelDir(dataDir: string): Promise<string> {
  const shared = process.env["TAILOR_TEST_MODEL_DIR"] ?? join(ROOT, ".tailor/models");
  const dir = join(dataDir, "models");
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(shared).catch(() => [])) {
    await symlink(join(shared, name), join(dir, name));
  }
  return dir;
}
