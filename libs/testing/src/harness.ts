import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Bus, type BusAuth, consumerBacklog, type StreamKey } from "@tailor/bus";
import { SERVICE_SPECS } from "@tailor/config";
import { SERVICES, type ServiceName, Stack } from "@tailor/deploy-local";
import { IngestionService, RetrievalService } from "@tailor/proto";
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

/** A whole Tailor stack of the suite's own: own database, bus prefix, ports and data dir. */
export interface Harness {
  stack: Stack;
  bus: Bus;
  db: TestDatabase;
  sql: pg.Pool;
  prefix: string;
  /** TAILOR_DATA_DIR of the stack (the retrieval index lives in its `retrieval/`). */
  dataDir: string;
  retrieval: Client<typeof RetrievalService>;
  ingestion: Client<typeof IngestionService>;
  /** Waits until every declared consumer has nothing pending or unacknowledged and every outbox is empty. */
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
  } = {},
): Promise<Harness> {
  const natsUrl = o.natsUrl ?? testNatsUrl();
  const prefix = o.prefix ?? uniquePrefix(label);
  const db = await createTestDatabase(label);
  const dataDir = await mkdtemp(join(tmpdir(), `tailor-${label}-`));
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
      TAILOR_MODEL_SERVER_MODEL_DIR:
        process.env["TAILOR_TEST_MODEL_DIR"] ?? join(ROOT, ".tailor/models"),
      TAILOR_LOG_LEVEL: process.env["TAILOR_LOG_LEVEL"] ?? "warn",
      ...extraEnv,
    },
  });
  await stack.start(240_000);
  const bus = await Bus.connect({ url: natsUrl, name: `test-${label}`, prefix, auth: o.natsAuth });
  const sql = new pg.Pool({ connectionString: db.url, max: 2 });
  const transport = (name: ServiceName) => createGrpcTransport({ baseUrl: stack.url(name) });
  // In pipeline (declaration) order, so that each waits after the one upstream has settled.
  const settle = async (timeoutMs = 120_000) => {
    for (const service of SERVICE_SPECS) {
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
    retrieval: createClient(RetrievalService, transport("retrieval")),
    ingestion: createClient(IngestionService, transport("ingestion")),
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
