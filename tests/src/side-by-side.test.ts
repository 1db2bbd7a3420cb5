import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publishDataEvent } from "@tailor/bus";
import { PORT_VARS, PortInUseError, SERVICES, Stack } from "@tailor/deploy-local";
import { SearchMode } from "@tailor/proto";
import {
  type Harness,
  ROOT,
  startHarness,
  testNatsUrl,
  uniquePrefix,
  waitFor,
  withTestBusPrefix,
} from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const DOCS = {
  a: { id: "atlas", text: "The aurora borealis glows green above the fjords of Tromsø in winter." },
  b: { id: "basalt", text: "Hexagonal basalt columns line the coast at the Giant's Causeway." },
};

describe("two stacks side by side on one NATS and one PostgreSQL", () => {
  let a: Harness;
  let b: Harness;

  beforeAll(async () => {
    [a, b] = await Promise.all([startHarness("sidea"), startHarness("sideb")]);
  }, 300_000);
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  const keyword = async (h: Harness, query: string) =>
    (await h.retrieval.search({ tenant: "acme", query, k: 5, mode: SearchMode.KEYWORD })).hits.map(
      (hit) => hit.documentId,
    );

  it("run on their own ports, prefixes, data dirs and databases", () => {
    const portsA = Object.values(a.stack.ports);
    expect(portsA.filter((p) => Object.values(b.stack.ports).includes(p))).toEqual([]);
    expect(a.prefix).not.toBe(b.prefix);
    expect(a.dataDir).not.toBe(b.dataDir);
    expect(a.db.name).not.toBe(b.db.name);
  });

  it("each finds only its own documents of tenant acme", async () => {
    await publishDataEvent(a.bus, "acme", "wiki", "upsert", DOCS.a);
    await publishDataEvent(b.bus, "acme", "wiki", "upsert", DOCS.b);
    for (const h of [a, b])
      await waitFor(
        async () => Number((await h.retrieval.stats({ tenant: "acme" })).documents) >= 1,
        {
          timeoutMs: 120_000,
          what: `${h.prefix} searchable`,
        },
      );
    await Promise.all([a.settle(), b.settle()]);
    expect(await keyword(a, "aurora fjords")).toEqual(["atlas"]);
    expect(await keyword(b, "basalt columns")).toEqual(["basalt"]);
    expect(await keyword(a, "basalt columns")).toEqual([]);
    expect(await keyword(b, "aurora fjords")).toEqual([]);
    for (const h of [a, b]) {
      expect(Number((await h.retrieval.stats({ tenant: "acme" })).documents)).toBe(1);
      const rows = await h.sql.query(
        "select external_id as id from ingestion.documents where tenant = 'acme'",
      );
      expect(rows.rows.map((r: { id: string }) => r.id)).toEqual([h === a ? "atlas" : "basalt"]);
    }
  }, 240_000);

  it("a third stack on the first one's ports fails at once, naming the port", async () => {
    const c = new Stack({ root: ROOT, ports: a.stack.ports, logs: false, env: process.env });
    const t0 = Date.now();
    const err = await c.start(60_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PortInUseError);
    // The first service to start is the first whose port is checked.
    const first = SERVICES[0]!;
    expect((err as Error).message).toContain(`port ${a.stack.ports[first]}`);
    expect((err as Error).message).toContain(PORT_VARS[first]);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("a service that cannot bind does not take the other stack's health as its own", async () => {
    // Spawned without the port check, as when the port is taken between check and listen.
    const prefix = uniquePrefix("clash");
    const dataDir = await mkdtemp(join(tmpdir(), "tailor-clash-"));
    const c = new Stack({
      root: ROOT,
      ports: { retrieval: a.stack.ports.retrieval },
      logs: false,
      env: {
        ...process.env,
        TAILOR_NATS_URL: testNatsUrl(),
        TAILOR_BUS_PREFIX: prefix,
        TAILOR_DATA_DIR: dataDir,
        TAILOR_LOG_LEVEL: "warn",
      },
    });
    try {
      c.startService("retrieval");
      const err = await c.waitHealthy(60_000, ["retrieval"]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PortInUseError);
      expect((err as Error).message).toContain(`port ${a.stack.ports.retrieval}`);
      expect((err as Error).message).toContain("TAILOR_RETRIEVAL_PORT");
    } finally {
      await c.stop();
      await (await withTestBusPrefix(prefix)).cleanup().catch(() => {});
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
