import { create } from "@bufbuild/protobuf";
import { ChunksDeletedSchema } from "@tailor/proto";
import { createLogger } from "@tailor/telemetry";
import { testNatsUrl, uniquePrefix, waitFor, withTestBusPrefix } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consumerBacklog } from "./backlog.js";
import { Bus } from "./bus.js";
import { readAttributes } from "./cloudevents.js";
import { DurableConsumer } from "./consumer.js";
import { PoisonMessageError, TransientError } from "./errors.js";
import { decodeEvent, Events } from "./events.js";

const logger = createLogger("bus-test", "silent");

describe("bus (real nats-server)", () => {
  const prefix = uniquePrefix("bus");
  let bus: Bus;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    bus = await Bus.connect({
      url: testNatsUrl(),
      name: "bus-test",
      prefix,
      duplicateWindowMs: 60_000,
    });
    cleanup = (await withTestBusPrefix(prefix)).cleanup;
  });
  afterAll(async () => {
    await bus?.close();
    await cleanup?.();
  });

  const deleted = (n: number) =>
    create(ChunksDeletedSchema, { tenant: "acme", documentId: `d${n}`, chunkIds: [`c${n}`] });

  it("publishes typed events with CloudEvents headers and drops duplicate ids", async () => {
    const subject = bus.subjects.chunk("acme", "deleted");
    const a = await bus.publish(subject, Events.chunksDeleted, deleted(1), {
      id: "same-id",
      source: "/test",
    });
    const b = await bus.publish(subject, Events.chunksDeleted, deleted(1), {
      id: "same-id",
      source: "/test",
    });
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    const got: string[] = [];
    const c = new DurableConsumer(bus, {
      stream: "CHUNK",
      durable: "headers",
      filterSubject: subject,
      logger,
    });
    await c.start(async (m) => {
      const attrs = readAttributes(m.headers);
      expect(attrs.type).toBe(Events.chunksDeleted.type);
      expect(attrs.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
      got.push(decodeEvent(Events.chunksDeleted, m).documentId);
    });
    await waitFor(() => got.length === 1, { what: "one delivery" });
    // Nothing left to deliver or awaiting its ack: had the duplicate been stored, it would
    // have been handled by now, so `got` is final.
    await waitFor(
      async () => {
        const b = await consumerBacklog(bus, "CHUNK", "headers");
        return b.consumers === 1 && b.messages === 0;
      },
      { what: "consumer caught up" },
    );
    await c.stop();
    expect(got).toEqual(["d1"]);
  });

  it("retries transient failures with backoff, dead-letters poison at once and after max_deliver", async () => {
    const subject = bus.subjects.chunk("beta", "deleted");
    for (const n of [1, 2, 3]) {
      await bus.publish(subject, Events.chunksDeleted, deleted(n), {
        id: `retry-${n}`,
        source: "/test",
      });
    }
    const attempts = new Map<string, number>();
    const c = new DurableConsumer(bus, {
      stream: "CHUNK",
      durable: "retry",
      filterSubject: subject,
      maxDeliver: 3,
      backoffMs: [50],
      logger,
    });
    await c.start(async (m) => {
      const ev = decodeEvent(Events.chunksDeleted, m);
      const n = (attempts.get(ev.documentId) ?? 0) + 1;
      attempts.set(ev.documentId, n);
      if (ev.documentId === "d1" && n < 2) throw new TransientError("model-server down");
      if (ev.documentId === "d2") throw new PoisonMessageError("missing field id");
      if (ev.documentId === "d3") throw new Error("always fails");
    });
    const dlq = await bus.js.consumers.get(bus.subjects.stream("DLQ"));
    const reasons: string[] = [];
    await waitFor(
      async () => {
        const m = await dlq.next({ expires: 1000 });
        if (m) {
          reasons.push(m.headers?.get("tailor-dlq-reason") ?? "");
          expect(m.subject).toBe(bus.subjects.deadLetter(subject));
        }
        return reasons.length === 2;
      },
      { what: "two dead letters" },
    );
    await c.stop();
    expect(attempts.get("d1")).toBe(2);
    expect(attempts.get("d2")).toBe(1);
    expect(attempts.get("d3")).toBe(3);
    expect(reasons.sort()).toEqual([
      "failed 3 deliveries: always fails",
      "poison: missing field id",
    ]);
  });

  it("decodeEvent turns bytes that are not the message into a poison error", async () => {
    const subject = bus.subjects.chunk("gamma", "deleted");
    await bus.publishRaw(subject, new Uint8Array([0xff, 0xff, 0xff]), {
      id: "garbage",
      type: Events.chunksDeleted.type,
      source: "/test",
      contentType: "application/protobuf",
    });
    const cons = await bus.js.consumers.get(bus.subjects.stream("CHUNK"), undefined);
    let err: unknown;
    for (let i = 0; i < 20 && !err; i++) {
      const m = await cons.next({ expires: 1000 });
      if (m?.subject === subject) {
        try {
          decodeEvent(Events.chunksDeleted, m);
        } catch (e) {
          err = e;
        }
      }
    }
    expect(err).toBeInstanceOf(PoisonMessageError);
  });

  it("stores and reads claim-check payloads with checksums", async () => {
    const store = await bus.claimStore();
    const data = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    const ref = await store.put(data);
    expect(Number(ref.size)).toBe(data.length);
    const back = await store.get(ref);
    expect(back.length).toBe(data.length);
    expect(back[12345]).toBe(data[12345]);
    await expect(store.get({ ...ref, name: "sha256-missing" })).rejects.toBeInstanceOf(
      PoisonMessageError,
    );
  });
});
