import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection, nanos } from "@nats-io/transport-node";
import { testNatsUrl, uniquePrefix, withTestBusPrefix } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureStreams, StreamConflictError, streamConfigs } from "./streams.js";
import { STREAM_KEYS, Subjects } from "./subjects.js";

describe("ensureStreams (real nats-server)", () => {
  const base = uniquePrefix("streams");
  let nc: NatsConnection;

  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl() });
  });
  afterAll(async () => {
    await nc?.close();
    await (await withTestBusPrefix(base)).cleanup();
  });

  it("refuses a stream of its name that another deployment's subjects fill, and leaves it as it was", async () => {
    const jsm = await jetstreamManager(nc);
    const mine = new Subjects(`${base}-y`);
    // What a deployment with the old, folding rule and prefix "<base>_y" had created.
    const theirs = [`${base}_y.data.>`];
    await jsm.streams.add({ name: mine.stream("DATA"), subjects: theirs });

    const err = await ensureStreams(jsm, mine, { replicas: 1, duplicateWindowMs: 60_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamConflictError);
    expect((err as Error).message).toContain(
      `stream ${mine.stream("DATA")} already exists with subjects [${theirs[0]}] of another deployment`,
    );
    expect((err as Error).message).toContain("choose another TAILOR_BUS_PREFIX");
    expect((await jsm.streams.info(mine.stream("DATA"))).config.subjects).toEqual(theirs);
  });

  it("creates the streams, leaves unchanged ones alone and applies a changed limit", async () => {
    const jsm = await jetstreamManager(nc);
    const s = new Subjects(`${base}-z`);
    await ensureStreams(jsm, s, { replicas: 1, duplicateWindowMs: 60_000 });
    const names = Object.values(streamConfigs(s, { replicas: 1, duplicateWindowMs: 1 })).map(
      (c) => c.name,
    );
    const before = await Promise.all(names.map(async (n) => (await jsm.streams.info(n)).created));
    expect(before).toHaveLength(STREAM_KEYS.length);

    await ensureStreams(jsm, s, { replicas: 1, duplicateWindowMs: 60_000 });
    await ensureStreams(jsm, s, { replicas: 1, duplicateWindowMs: 30_000 });
    for (const n of names) {
      const info = await jsm.streams.info(n);
      expect(info.config.duplicate_window).toBe(nanos(30_000));
    }
  });
});
