import { getEventListeners } from "node:events";
import { createServer } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { createLogger } from "@tailor/telemetry";
import { describe, expect, it } from "vitest";
import { EmbedderClient } from "./embedder-client.js";

/** A port that was free a moment ago: nothing listens there, so every call is UNAVAILABLE. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

describe("EmbedderClient.embed retries", () => {
  it("keeps retrying while the model-server is away, leaves no abort listener behind, and ends CANCELED on abort", async () => {
    const client = new EmbedderClient(
      `http://127.0.0.1:${await closedPort()}`,
      "emb",
      createLogger("embedder-client-test", "silent"),
    );
    const ac = new AbortController();
    // Listeners on the caller's signal each time a wait is about to begin: a retry loop that
    // forgets to remove its own would grow this by one per round.
    const listeners: number[] = [];
    const result = client
      .embed(["x"], {
        signal: ac.signal,
        heartbeat: () => {
          listeners.push(getEventListeners(ac.signal, "abort").length);
          // Aborts once the third wait has begun.
          if (listeners.length === 3) queueMicrotask(() => ac.abort());
        },
      })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    const err = await result;
    expect(err?.code).toBe(Code.Canceled);
    expect(listeners).toEqual([0, 0, 0]);
    expect(getEventListeners(ac.signal, "abort")).toEqual([]);
  });
});
