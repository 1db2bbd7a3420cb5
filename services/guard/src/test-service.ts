import { fromBinary } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Bus } from "@tailor/bus";
import { GuardService, type GuardViolation, GuardViolationSchema } from "@tailor/proto";
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
import { parseGuardConfig } from "./config.js";
import { create, type GuardServiceHandle } from "./service.js";

/** A guard of a suite's own (own database and bus prefix) and a Connect JSON client to it. */
export interface TestGuard {
  svc: GuardServiceHandle;
  client: Client<typeof GuardService>;
  bus: Bus;
  close(): Promise<void>;
}

export async function startTestGuard(label: string): Promise<TestGuard> {
  const db: TestDatabase = await createTestDatabase(label);
  const prefix = uniquePrefix(label);
  const { cleanup } = await withTestBusPrefix(prefix);
  const svc = await create(
    parseGuardConfig({
      TAILOR_NATS_URL: testNatsUrl(),
      TAILOR_DATABASE_URL: db.url,
      TAILOR_BUS_PREFIX: prefix,
      TAILOR_GUARD_PORT: "0",
    }),
    { logger: createLogger("guard", "silent") },
  );
  await svc.start();
  const client = createClient(
    GuardService,
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

/** Every violation of the GUARD stream for this tenant, oldest first, with the raw payload. */
export async function violations(
  bus: Bus,
  tenant: string,
): Promise<{ event: GuardViolation; raw: string }[]> {
  const messages = await streamMessages(bus, "GUARD", bus.subjects.guard(tenant, "violation"));
  return messages.map((m) => ({
    event: fromBinary(GuardViolationSchema, m.data),
    raw: Buffer.from(m.data).toString("latin1"),
  }));
}

/** Waits until the outbox has published everything committed so far. */
export async function outboxDrained(svc: GuardServiceHandle): Promise<void> {
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
    { what: "guard outbox drained", timeoutMs: 20_000 },
  );
}
