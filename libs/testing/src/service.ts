import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Bus } from "@tailor/bus";
import { testNatsUrl, uniquePrefix, withTestBusPrefix } from "./nats.js";
import { createTestDatabase } from "./postgres.js";

/** What a service's `create()` returns, as far as a test needs it. */
interface StartableService {
  readonly port: number;
  readonly ctx: { bus: Bus };
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** One service of a suite's own (own database and bus prefix) and a Connect JSON client to it. */
export interface TestService<H extends StartableService, S extends DescService> {
  svc: H;
  client: Client<S>;
  bus: Bus;
  close(): Promise<void>;
}

/**
 * Starts one service in this process on its own database and bus prefix: `make` gets the
 * environment to parse its config from (NATS, PostgreSQL, prefix) and adds its own port variable.
 */
export async function startTestService<H extends StartableService, S extends DescService>(
  label: string,
  descriptor: S,
  make: (env: Record<string, string>) => Promise<H>,
): Promise<TestService<H, S>> {
  const db = await createTestDatabase(label);
  const prefix = uniquePrefix(label);
  const { cleanup } = await withTestBusPrefix(prefix);
  const svc = await make({
    TAILOR_NATS_URL: testNatsUrl(),
    TAILOR_DATABASE_URL: db.url,
    TAILOR_BUS_PREFIX: prefix,
  });
  await svc.start();
  const client = createClient(
    descriptor,
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
