import { createServer, type Server } from "node:net";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PortInUseError, portFree } from "./ports.js";
import { Stack } from "./stack.js";

describe("a stack whose port is taken", () => {
  let holder: Server;
  let port = 0;
  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    port = (holder.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => holder.close(() => r())));

  it("sees the port as taken", async () => {
    expect(await portFree("127.0.0.1", port)).toBe(false);
  });

  it("fails at once, naming the port and its variable, without starting anything", async () => {
    const stack = new Stack({
      root: resolve(import.meta.dirname, "../../.."),
      ports: { ingestion: port },
      env: {},
      logs: false,
    });
    const t0 = Date.now();
    const err = await stack.start(60_000, ["ingestion"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PortInUseError);
    expect((err as PortInUseError).port).toBe(port);
    expect((err as Error).message).toMatch(
      new RegExp(
        `port ${port} on 127\\.0\\.0\\.1 \\(ingestion, TAILOR_INGESTION_PORT\\) is already in use`,
      ),
    );
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
