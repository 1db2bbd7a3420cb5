import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publishDataEvent } from "@tailor/bus";
import { reachable } from "@tailor/deploy-local";
import { freePort, type Harness, startHarness, waitFor } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const NATS_BIN = [...(process.env["PATH"] ?? "").split(":"), "/usr/sbin", "/usr/local/sbin"]
  .filter(Boolean)
  .map((d) => join(d, "nats-server"))
  .find((p) => existsSync(p));

/** A nats-server of this suite's own, so it can be killed without disturbing anyone else. */
async function startNats(port: number, storeDir: string): Promise<ChildProcess> {
  const child = spawn(
    NATS_BIN ?? "nats-server",
    ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir],
    { stdio: "ignore" },
  );
  await waitFor(() => reachable("127.0.0.1", port, 200), {
    what: "nats-server up",
    timeoutMs: 15_000,
  });
  return child;
}

// Needs a nats-server binary to run a server of its own (npm test installs one when it must start NATS).
describe.skipIf(!NATS_BIN)(
  "NATS restart: nothing accepted is lost (own nats-server, real PostgreSQL, services)",
  () => {
    let h: Harness;
    let nats: ChildProcess;
    let port: number;
    let store: string;

    beforeAll(async () => {
      port = await freePort();
      store = await mkdtemp(join(tmpdir(), "tailor-nats-"));
      nats = await startNats(port, store);
      // Small embedding batches keep the stream long enough for the kill to land in the middle.
      h = await startHarness(
        "natsrestart",
        { TAILOR_EMBEDDING_BATCH_MESSAGES: "4" },
        { natsUrl: `nats://127.0.0.1:${port}` },
      );
    }, 300_000);
    afterAll(async () => {
      await h?.close();
      nats?.kill("SIGKILL");
      await rm(store, { recursive: true, force: true });
    });

    it("keeps every document published before and after the server is killed and restarted", async () => {
      const publish = (from: number, to: number) =>
        Promise.all(
          Array.from({ length: to - from }, (_, k) =>
            publishDataEvent(h.bus, "acme", "crm", "upsert", {
              id: `n-${from + k}`,
              text: `Record ${from + k} marker zqnats${from + k}x about freight.`,
            }),
          ),
        );
      await publish(0, 800);
      await waitFor(
        async () => Number((await h.retrieval.stats({ tenant: "acme" })).documents) > 0,
        {
          what: "indexing started",
          intervalMs: 20,
        },
      );
      const exited = new Promise((r) => nats.once("exit", r));
      nats.kill("SIGKILL");
      const mid = Number((await h.retrieval.stats({ tenant: "acme" })).documents);
      await exited;
      await new Promise((r) => setTimeout(r, 1000));
      nats = await startNats(port, store);
      // Clients reconnect on their own; publishing again only succeeds once JetStream is back.
      await waitFor(
        async () => {
          await publish(800, 900);
          return true;
        },
        { what: "publishing after the restart", timeoutMs: 60_000, intervalMs: 500 },
      );
      await waitFor(
        async () => Number((await h.retrieval.stats({ tenant: "acme" })).documents) === 900,
        {
          timeoutMs: 180_000,
          what: "all 900 documents searchable",
        },
      );
      const pg = Number(
        (await h.sql.query("select count(*)::int n from ingestion.documents where tenant = 'acme'"))
          .rows[0].n,
      );
      expect(mid).toBeLessThan(800);
      expect(pg).toBe(900);
    }, 300_000);
  },
);
