import { fromBinary } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Bus } from "@tailor/bus";
import {
  ModelPromotedSchema,
  ModelRejectedSchema,
  ModelRolledBackSchema,
  RegistryService,
} from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import {
  createTestDatabase,
  streamMessages,
  type TestDatabase,
  testNatsUrl,
  uniquePrefix,
  waitFor,
  withTestBusPrefix,
} from "@tailor/testing";
import { parseRegistryConfig } from "./config.js";
import { create, type RegistryServiceHandle } from "./service.js";

/** A registry of a suite's own (own database and bus prefix) and a Connect JSON client to it. */
export interface TestRegistry {
  svc: RegistryServiceHandle;
  client: Client<typeof RegistryService>;
  bus: Bus;
  close(): Promise<void>;
}

export async function startTestRegistry(label: string): Promise<TestRegistry> {
  const db: TestDatabase = await createTestDatabase(label);
  const prefix = uniquePrefix(label);
  const { cleanup } = await withTestBusPrefix(prefix);
  const svc = await create(
    parseRegistryConfig({
      TAILOR_NATS_URL: testNatsUrl(),
      TAILOR_DATABASE_URL: db.url,
      TAILOR_BUS_PREFIX: prefix,
      TAILOR_REGISTRY_PORT: "0",
    }),
    { logger: createLogger("registry", "silent") },
  );
  await svc.start();
  const client = createClient(
    RegistryService,
    // Connect JSON carries lone surrogates as they are; the binary encoding would replace them.
    createConnectTransport({
      baseUrl: `http://127.0.0.1:${svc.port}`,
      httpVersion: "2",
      useBinaryFormat: false,
    }),
  );
  return {
    svc,
    client,
    bus: svc.ctx.bus,
    close: async () => {
      await svc.destroy();
      await db.drop().catch(() => {});
      await cleanup().catch(() => {});
    },
  };
}

const SCHEMAS = {
  promoted: ModelPromotedSchema,
  rolled_back: ModelRolledBackSchema,
  rejected: ModelRejectedSchema,
} as const;
type Kind = keyof typeof SCHEMAS;

/** Every event of the MODEL stream on `model.<tenant>.<kind>`, oldest first, decoded. */
export async function modelEvents<K extends Kind>(bus: Bus, tenant: string, kind: K) {
  const messages = await streamMessages(bus, "MODEL", bus.subjects.model(tenant, kind));
  return messages.map((m) => fromBinary(SCHEMAS[kind], m.data)) as ReturnType<
    typeof fromBinary<(typeof SCHEMAS)[K]>
  >[];
}

/** Waits until the outbox has published everything committed so far. */
export async function outboxDrained(svc: RegistryServiceHandle): Promise<void> {
  await waitFor(
    async () =>
      Number(
        (
          await svc.ctx.database.db
            .selectFrom("outbox")
            .select((eb) => eb.fn.countAll().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      ) === 0,
    { what: "registry outbox drained", timeoutMs: 20_000 },
  );
}
