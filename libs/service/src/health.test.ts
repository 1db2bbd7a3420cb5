import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "@tailor/proto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type H2cTestServer, startH2cTestServer } from "./h2c-test-server.js";
import { HealthStatus, registerHealth } from "./health.js";

const INGESTION = "tailor.ingestion.v1.IngestionService";

type TestServer = H2cTestServer;
const startServer = startH2cTestServer;

describe("registerHealth", () => {
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function setup(health: HealthStatus) {
    server = await startServer((router) => registerHealth(router, health));
    const transport = createGrpcTransport({ baseUrl: server.baseUrl });
    return createClient(Health, transport);
  }

  it("answers Check with the overall and per-service status", async () => {
    const health = new HealthStatus([INGESTION]);
    const client = await setup(health);

    expect((await client.check({})).status).toBe(ServingStatus.SERVING);
    expect((await client.check({ service: INGESTION })).status).toBe(ServingStatus.SERVING);

    health.set(INGESTION, ServingStatus.NOT_SERVING);
    expect((await client.check({ service: INGESTION })).status).toBe(ServingStatus.NOT_SERVING);
    expect((await client.check({})).status).toBe(ServingStatus.SERVING);
  });

  it("fails Check for an unknown service with NOT_FOUND", async () => {
    const client = await setup(new HealthStatus([INGESTION]));

    const err = await client.check({ service: "no.such.Service" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
  });

  it("reports NOT_SERVING everywhere after setAll", async () => {
    const health = new HealthStatus([INGESTION]);
    const client = await setup(health);

    health.setAll(ServingStatus.NOT_SERVING);

    expect((await client.check({})).status).toBe(ServingStatus.NOT_SERVING);
    expect((await client.check({ service: INGESTION })).status).toBe(ServingStatus.NOT_SERVING);
  });

  it("streams the current status, then each change, until the client cancels", async () => {
    const health = new HealthStatus([INGESTION]);
    let subscribers = 0;
    const subscribe = health.subscribe.bind(health);
    vi.spyOn(health, "subscribe").mockImplementation((listener) => {
      subscribers++;
      const unsubscribe = subscribe(listener);
      return () => {
        subscribers--;
        unsubscribe();
      };
    });
    const client = await setup(health);
    const abort = new AbortController();
    const stream = client.watch({ service: INGESTION }, { signal: abort.signal });
    const it = stream[Symbol.asyncIterator]();

    expect((await it.next()).value?.status).toBe(ServingStatus.SERVING);
    expect(subscribers).toBe(1);

    // A repeated status is not a change and must not produce a message.
    health.set(INGESTION, ServingStatus.SERVING);
    health.set(INGESTION, ServingStatus.NOT_SERVING);
    expect((await it.next()).value?.status).toBe(ServingStatus.NOT_SERVING);

    health.setAll(ServingStatus.SERVING);
    expect((await it.next()).value?.status).toBe(ServingStatus.SERVING);

    abort.abort();
    await expect(it.next()).rejects.toMatchObject({ code: Code.Canceled });
    // The server must notice the cancel and drop its subscription.
    await vi.waitFor(() => expect(subscribers).toBe(0));
  });

  it("streams SERVICE_UNKNOWN for an unknown service and picks it up once registered", async () => {
    const health = new HealthStatus();
    const client = await setup(health);
    const abort = new AbortController();
    const it = client
      .watch({ service: INGESTION }, { signal: abort.signal })
      [Symbol.asyncIterator]();

    expect((await it.next()).value?.status).toBe(ServingStatus.SERVICE_UNKNOWN);

    health.set(INGESTION, ServingStatus.SERVING);
    expect((await it.next()).value?.status).toBe(ServingStatus.SERVING);

    abort.abort();
    await expect(it.next()).rejects.toMatchObject({ code: Code.Canceled });
  });
});
