import { Code, type ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { publishDataEvent } from "@tailor/bus";
import {
  Health,
  HealthCheckResponse_ServingStatus,
  IngestionService,
  SearchMode,
} from "@tailor/proto";
import {
  expectedGood,
  type Harness,
  type HostileCall,
  type HostileEvent,
  hostileCall,
  hostileEvent,
  markText,
  rpcError,
  startHarness,
  toWire,
  type Verdict,
  type WireEvent,
  waitFor,
} from "@tailor/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** Fixed by default so a failure can be replayed; TAILOR_FUZZ_SEED explores other inputs. */
const SEED = Number(process.env["TAILOR_FUZZ_SEED"] ?? 20_240_611);
const MAX_TEXT = 200_000;
const TENANT = "fuzz";
const BATCHES = 5;
const PER_BATCH = 40;
const CALLS = 30;

interface Published {
  ev: HostileEvent;
  wire: WireEvent;
  seq: number;
  marker: string;
}
interface Called {
  call: HostileCall;
  source: string;
  markers: string[];
  error?: ConnectError;
}

const why = (p: Published) => `${p.ev.format} ${p.ev.op} ${p.wire.stored.source} (${p.ev.label})`;

describe("fuzz end to end: hostile events on the bus and over RPC (real NATS, PostgreSQL, services)", () => {
  let h: Harness;
  const published: Published[] = [];
  const called: Called[] = [];

  beforeAll(async () => {
    h = await startHarness("fuzz", { TAILOR_INGESTION_MAX_TEXT_BYTES: String(MAX_TEXT) });
  }, 300_000);
  afterAll(async () => {
    await h?.close();
  });

  const searchable = async (marker: string) =>
    (
      await h.retrieval.search({ tenant: TENANT, query: marker, k: 3, mode: SearchMode.KEYWORD })
    ).hits.map((x) => `${x.source}/${x.documentId}`);

  /** Waits until every expected `source/id` is found by its marker; returns those that never were. */
  const unsearchable = async (expected: { marker: string; key: string }[]) => {
    let missing = expected;
    await waitFor(
      async () => {
        const still = [];
        for (const e of missing) if (!(await searchable(e.marker)).includes(e.key)) still.push(e);
        missing = still;
        return missing.length === 0;
      },
      { timeoutMs: 90_000, intervalMs: 1000, what: "every accepted document to be searchable" },
    ).catch(() => {});
    return missing.map((m) => m.key);
  };

  it("publishes mixed batches and calls; the pipeline settles", async () => {
    const batches = fc.sample(
      fc.array(hostileEvent({ maxTextBytes: MAX_TEXT }), {
        minLength: PER_BATCH,
        maxLength: PER_BATCH,
      }),
      { numRuns: BATCHES, seed: SEED },
    );
    for (const [b, events] of batches.entries()) {
      for (const [i, ev] of events.entries()) {
        const marker = `zqb${b}e${i}x`;
        const wire = toWire(ev, {
          prefix: h.prefix,
          tenant: TENANT,
          source: `b${b}e${i}`,
          eventId: `fuzz-${b}-${i}`,
          marker,
        });
        const ack = await h.bus.publishRaw(wire.subject, wire.body, {
          id: `fuzz-${b}-${i}`,
          type: wire.type,
          source: "/fuzz",
          contentType: wire.contentType,
        });
        published.push({ ev, wire, seq: ack.seq, marker });
      }
    }
    // Connect JSON, so lone surrogates reach the server as they are.
    const rpc = createClient(
      IngestionService,
      createConnectTransport({
        baseUrl: h.stack.url("ingestion"),
        httpVersion: "2",
        useBinaryFormat: false,
      }),
    );
    for (const [j, call] of fc
      .sample(hostileCall({ maxTextBytes: MAX_TEXT }), { numRuns: CALLS, seed: SEED + 1 })
      .entries()) {
      const source = call.source ?? `r${j}`;
      const markers = call.documents.map((_, k) => `zqr${j}d${k}x`);
      const documents = call.documents.map((d, k) => ({
        ...d,
        text: markText(d.text, d.contentType, markers[k]!),
      }));
      const error = await rpcError(
        rpc.ingestDocuments({ tenant: call.tenant ?? TENANT, source, documents }),
      );
      called.push({ call, source, markers, error });
    }
    expect(published.filter((p) => expectedGood(p.ev)).length).toBeGreaterThan(20);
    expect(published.filter((p) => p.ev.verdict.kind === "bad").length).toBeGreaterThan(10);
    expect(called.filter((c) => expectedGood(c.call)).length).toBeGreaterThan(3);
    // Stuck rows in the outbox or unacknowledged messages would time out here.
    await h.settle(180_000);
  }, 400_000);

  it("dead-letters each bad event once with a reason naming its field, and no good one", async () => {
    const stream = h.bus.subjects.stream("DLQ");
    const last = (await h.bus.jsm.streams.info(stream)).state.last_seq;
    const dataStream = h.bus.subjects.stream("DATA");
    const letters = new Map<number, string[]>();
    const elsewhere: string[] = [];
    for (let seq = 1; seq <= last; seq++) {
      const m = await h.bus.jsm.streams.getMessage(stream, { seq });
      const reason = m?.header.get("tailor-dlq-reason") ?? "";
      if (m?.header.get("tailor-dlq-stream") !== dataStream) {
        elsewhere.push(`${m?.header.get("tailor-dlq-subject")}: ${reason}`);
        continue;
      }
      const from = Number(m.header.get("tailor-dlq-sequence"));
      letters.set(from, [...(letters.get(from) ?? []), reason]);
    }
    // Downstream dead letters mean an accepted document was lost on the way to the index.
    expect(elsewhere).toEqual([]);
    const problems: string[] = [];
    let expected = 0;
    for (const p of published) {
      const got = letters.get(p.seq) ?? [];
      letters.delete(p.seq);
      const v: Verdict = p.ev.verdict;
      if (got.length > 1) problems.push(`${why(p)}: ${got.length} dead letters`);
      if (v.kind === "good" && got.length > 0)
        problems.push(`${why(p)}: good event dead-lettered: ${got[0]}`);
      if (v.kind === "bad" && got.length === 0) problems.push(`${why(p)}: bad event accepted`);
      if ((v.kind === "bad" || v.kind === "either") && got[0] !== undefined) {
        expected++;
        if (!v.reason.test(got[0]))
          problems.push(`${why(p)}: reason does not name ${v.field}: ${got[0]}`);
      }
    }
    expect(problems).toEqual([]);
    expect([...letters.keys()], "dead letters of messages this suite did not publish").toEqual([]);
    expect(last).toBe(expected);
  });

  it("makes every accepted bus document searchable and stored in PostgreSQL", async () => {
    const dead = new Set<number>();
    const stream = h.bus.subjects.stream("DLQ");
    const last = (await h.bus.jsm.streams.info(stream)).state.last_seq;
    for (let seq = 1; seq <= last; seq++) {
      const m = await h.bus.jsm.streams.getMessage(stream, { seq });
      dead.add(Number(m?.header.get("tailor-dlq-sequence")));
    }
    const accepted = published.filter(
      (p) =>
        p.ev.op === "upsert" &&
        (p.ev.verdict.kind === "good" || (p.ev.verdict.kind === "either" && !dead.has(p.seq))),
    );
    expect(accepted.length).toBeGreaterThan(20);
    const stored = new Set(
      (
        await h.sql.query<{ k: string }>(
          "select source || '/' || external_id as k from ingestion.documents where tenant = $1 and not deleted",
          [TENANT],
        )
      ).rows.map((r) => r.k),
    );
    const keyOf = (p: Published) => `${p.wire.stored.source}/${p.wire.stored.id}`;
    expect(accepted.filter((p) => !stored.has(keyOf(p))).map(why)).toEqual([]);
    const missing = await unsearchable(accepted.map((p) => ({ marker: p.marker, key: keyOf(p) })));
    expect(missing.map((k) => why(accepted.find((p) => keyOf(p) === k)!))).toEqual([]);
  }, 200_000);

  it("answers each bad RPC with INVALID_ARGUMENT naming the field; good calls become searchable", async () => {
    const problems: string[] = [];
    const expectSearchable: { marker: string; key: string }[] = [];
    for (const c of called) {
      const v = c.call.verdict;
      const e = c.error;
      const label = `call ${c.source} (${c.call.label})`;
      if (e && e.code !== Code.InvalidArgument)
        problems.push(`${label}: ${Code[e.code]} ${e.rawMessage}`);
      else if (e && v.kind === "good") problems.push(`${label}: refused: ${e.rawMessage}`);
      else if (e && (v.kind === "bad" || v.kind === "either") && !v.reason.test(e.rawMessage))
        problems.push(`${label}: message does not start with ${v.field}: ${e.rawMessage}`);
      else if (!e && v.kind === "bad") problems.push(`${label}: accepted`);
      else if (!e)
        c.call.documents.forEach((d, k) => {
          expectSearchable.push({ marker: c.markers[k]!, key: `${c.source}/${d.id}` });
        });
    }
    expect(problems).toEqual([]);
    expect(expectSearchable.length).toBeGreaterThan(3);
    expect(await unsearchable(expectSearchable)).toEqual([]);
  }, 200_000);

  it("is not stuck afterwards: a document published last becomes searchable; health is SERVING", async () => {
    await publishDataEvent(h.bus, TENANT, "canary", "upsert", {
      id: "last",
      title: "Last",
      text: "zqlastx was published after all the hostile input",
    });
    await waitFor(async () => (await searchable("zqlastx")).includes("canary/last"), {
      timeoutMs: 60_000,
      what: "the last document to become searchable",
    });
    const health = createClient(Health, createGrpcTransport({ baseUrl: h.stack.url("ingestion") }));
    expect((await health.check({ service: "" })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  }, 120_000);
});
