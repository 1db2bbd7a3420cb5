import net from "node:net";
import type { JsMsg } from "@nats-io/jetstream";
import { createLogger } from "@tailor/telemetry";
import { testNatsUrl, uniquePrefix, waitFor, withTestBusPrefix } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bus } from "./bus.js";
import { DurableConsumer } from "./consumer.js";

const logger = createLogger("consumer-headers-test", "silent");

/** Publishes with the raw protocol, so a header value can hold what nats.js itself refuses. */
async function rawPublish(url: string, subject: string, header: string, body: string) {
  const u = new URL(url);
  const sock = net.connect(Number(u.port || 4222), u.hostname);
  await new Promise((r) => sock.once("data", r));
  const h = `NATS/1.0\r\n${header}\r\n\r\n`;
  const hl = Buffer.byteLength(h);
  sock.write(
    `CONNECT {"verbose":false,"headers":true}\r\nHPUB ${subject} ${hl} ${hl + Buffer.byteLength(body)}\r\n${h}${body}\r\nPING\r\n`,
  );
  await new Promise((r) => sock.once("data", r));
  sock.end();
}

describe("a message whose headers cannot be read (real nats-server)", () => {
  const prefix = uniquePrefix("hdr");
  let bus: Bus;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    bus = await Bus.connect({ url: testNatsUrl(), name: "hdr-test", prefix });
    cleanup = (await withTestBusPrefix(prefix)).cleanup;
  });
  afterAll(async () => {
    await bus?.close();
    await cleanup?.();
  });

  it("is dead-lettered at once with the reason, and its neighbours are handled", async () => {
    const subject = bus.subjects.data("acme", "crm", "upsert");
    await rawPublish(testNatsUrl(), subject, "x-note: a\rb", "bad");
    await rawPublish(testNatsUrl(), subject, "x-note: fine", "good");
    const seen: string[] = [];
    const c = new DurableConsumer(bus, {
      stream: "DATA",
      durable: "hdr",
      filterSubject: subject,
      maxDeliver: 3,
      backoffMs: [50],
      logger,
    });
    await c.startBatches({ maxBatch: 10, maxWaitMs: 5 }, async (msgs: JsMsg[]) =>
      msgs.map((m) => {
        seen.push(new TextDecoder().decode(m.data));
        return { ok: true };
      }),
    );
    const dlq = bus.subjects.stream("DLQ");
    await waitFor(async () => (await bus.jsm.streams.info(dlq)).state.messages === 1, {
      timeoutMs: 20_000,
      what: "the dead letter",
    });
    await c.stop();
    expect(seen).toEqual(["good"]);
    const dead = await bus.jsm.streams.getMessage(dlq, { seq: 1 });
    if (!dead) throw new Error("no dead letter at sequence 1");
    expect(new TextDecoder().decode(dead.data)).toBe("bad");
    expect(dead.header.get("tailor-dlq-reason")).toMatch(/^poison: message headers cannot be read/);
    expect(dead.header.get("tailor-dlq-deliveries")).toBe("1");
  });
});
