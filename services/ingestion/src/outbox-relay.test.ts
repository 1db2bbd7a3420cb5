import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Bus, Events, encodeEvent } from "@tailor/bus";
import { Database } from "@tailor/db";
import { OutboxRelay } from "@tailor/outbox";
import { ChunksDeletedSchema } from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import {
  createTestDatabase,
  freePort,
  type TestDatabase,
  testNatsUrl,
  uniquePrefix,
  waitFor,
  withTestBusPrefix,
} from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrations } from "./db/migrations.js";
import type { IngestionDB } from "./db/schema.js";

const logger = createLogger("relay-test", "silent");

/** Every message of a stream, oldest first. */
async function streamMessages(bus: Bus, key: "CHUNK" | "DLQ") {
  const name = bus.subjects.stream(key);
  const last = (await bus.jsm.streams.info(name)).state.last_seq;
  const out = [];
  for (let seq = 1; seq <= last; seq++) {
    const m = await bus.jsm.streams.getMessage(name, { seq });
    if (m) out.push(m);
  }
  return out;
}

const row = (bus: Bus, tenant: string, msgId: string, payload?: Uint8Array) => ({
  subject: bus.subjects.chunk(tenant, "deleted"),
  event_type: Events.chunksDeleted.type,
  msg_id: msgId,
  payload: Buffer.from(
    payload ??
      encodeEvent(
        Events.chunksDeleted,
        create(ChunksDeletedSchema, { tenant, documentId: msgId, chunkIds: ["c"] }),
      ),
  ),
});

describe("outbox relay: a row that cannot be published never stalls the rows behind it", () => {
  let tdb: TestDatabase;
  let database: Database<IngestionDB>;
  let bus: Bus;
  const prefix = uniquePrefix("relay");

  beforeAll(async () => {
    tdb = await createTestDatabase("relay");
    database = new Database<IngestionDB>({ url: tdb.url, schema: "ingestion", migrations });
    await database.migrate();
    bus = await Bus.connect({ url: testNatsUrl(), name: "relay-test", prefix });
  });
  afterAll(async () => {
    await bus?.close();
    await database?.destroy();
    await tdb?.drop();
    await (await withTestBusPrefix(prefix)).cleanup();
  });

  it("dead-letters a row with a line-break id and an oversized row, and publishes every other tenant's rows", async () => {
    await database.db
      .insertInto("outbox")
      .values([
        row(bus, "evil", "chunks:evil:crm:line1\nline2:1:0"),
        row(bus, "evil", "too-big", new Uint8Array(bus.maxPayload + 10)),
        ...Array.from({ length: 30 }, (_, i) => row(bus, i % 2 ? "acme" : "globex", `good-${i}`)),
      ])
      .execute();
    const relay = new OutboxRelay(database, bus, logger, {
      service: "ingestion",
      maxAttempts: 3,
      stallMs: 60_000,
    });
    expect(await relay.drain()).toBe(32);
    expect(await database.db.selectFrom("outbox").select("id").execute()).toEqual([]);
    const published = await streamMessages(bus, "CHUNK");
    expect(published.map((m) => m.header.get("Nats-Msg-Id")).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `good-${i}`).sort(),
    );
    const dead = await streamMessages(bus, "DLQ");
    expect(dead.length).toBe(2);
    const reasons = dead.map((m) => m.header.get("tailor-dlq-reason"));
    expect(reasons.some((r) => /poison: .*cannot contain/.test(r))).toBe(true);
    expect(reasons.some((r) => /poison: .*max_payload/.test(r))).toBe(true);
    const oversized = dead.find((m) => m.header.get("tailor-dlq-dropped-bytes"));
    expect(oversized?.header.get("tailor-dlq-dropped-bytes")).toBe(String(bus.maxPayload + 10));
    expect(dead.every((m) => m.subject.startsWith(`${prefix}.dlq.chunk.evil.`))).toBe(true);
    expect(relay.isHealthy).toBe(true);
  });
});

const NATS_BIN = [
  "/usr/sbin",
  "/usr/local/bin",
  "/usr/bin",
  ...(process.env["PATH"] ?? "").split(":"),
]
  .filter(Boolean)
  .map((d) => join(d, "nats-server"))
  .find((p) => existsSync(p));

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = netConnect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

async function startNats(port: number, store: string): Promise<ChildProcess> {
  const child = spawn(
    NATS_BIN ?? "nats-server",
    ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", store],
    {
      stdio: "ignore",
    },
  );
  await waitFor(() => reachable(port), { what: "nats-server up", timeoutMs: 15_000 });
  return child;
}

describe.skipIf(!NATS_BIN)("outbox relay health (own nats-server, killed and restarted)", () => {
  let tdb: TestDatabase;
  let database: Database<IngestionDB>;
  let bus: Bus;
  let nats: ChildProcess;
  let port: number;
  let store: string;

  beforeAll(async () => {
    port = await freePort();
    store = await mkdtemp(join(tmpdir(), "tailor-relay-nats-"));
    nats = await startNats(port, store);
    tdb = await createTestDatabase("relayhealth");
    database = new Database<IngestionDB>({ url: tdb.url, schema: "ingestion", migrations });
    await database.migrate();
    bus = await Bus.connect({
      url: `nats://127.0.0.1:${port}`,
      name: "relay-health",
      prefix: "rh",
    });
  });
  afterAll(async () => {
    await bus?.close();
    nats?.kill("SIGKILL");
    await database?.destroy();
    await tdb?.drop();
    await rm(store, { recursive: true, force: true });
  });

  it("turns unhealthy while NATS is down, says why, and recovers and publishes when it is back", async () => {
    const changes: { healthy: boolean; reason: string }[] = [];
    const relay = new OutboxRelay(database, bus, logger, {
      service: "ingestion",
      maxAttempts: 3,
      stallMs: 500,
      pollMs: 50,
    });
    relay.onHealth((healthy, reason) => changes.push({ healthy, reason }));
    relay.start();
    try {
      const exited = new Promise((r) => nats.once("exit", r));
      nats.kill("SIGKILL");
      await exited;
      await database.db
        .insertInto("outbox")
        .values(row(bus, "acme", "while-down"))
        .execute();
      relay.notify();
      await waitFor(() => changes.some((c) => !c.healthy), {
        what: "NOT healthy",
        timeoutMs: 60_000,
      });
      expect(relay.isHealthy).toBe(false);
      expect(changes.find((c) => !c.healthy)?.reason).toMatch(/no progress/);
      // A transient failure of every row is the server's, not the row's: nothing dead-lettered.
      expect(
        (await database.db.selectFrom("outbox").select("attempts").execute()).map(
          (r) => r.attempts,
        ),
      ).toEqual([0]);
      nats = await startNats(port, store);
      await waitFor(() => relay.isHealthy, {
        what: "healthy again",
        timeoutMs: 90_000,
        intervalMs: 200,
      });
      expect(changes.at(-1)?.healthy).toBe(true);
      expect(await database.db.selectFrom("outbox").select("id").execute()).toEqual([]);
      const msgs = await streamMessages(bus, "CHUNK");
      expect(msgs.map((m) => m.header.get("Nats-Msg-Id"))).toEqual(["while-down"]);
    } finally {
      await relay.stop();
    }
  }, 180_000);
});
