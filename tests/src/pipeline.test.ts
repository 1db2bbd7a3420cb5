import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { publishDataEvent } from "@tailor/bus";
import { batchSearch, ingest } from "@tailor/cli";
import { SearchMode } from "@tailor/proto";
import { type Harness, rpcError, startHarness, testNatsUrl, waitFor } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** A made-up word per document, so a keyword search can find exactly that document. */
const marker = (tenant: string, n: number) => `zq${tenant.slice(0, 3)}${n}x`;

const docText = (tenant: string, n: number) =>
  `Quarterly report number ${n} for ${tenant}. The revenue of the northern region grew while costs fell. ` +
  `Reference code ${marker(tenant, n)} identifies this filing.`;

describe("data path: published events become searchable (real NATS, PostgreSQL, services)", () => {
  let h: Harness;
  const counts = { acme: 600, globex: 400 };

  beforeAll(async () => {
    h = await startHarness("e2e", { TAILOR_INGESTION_MAX_TEXT_BYTES: "200000" });
  }, 300_000);
  afterAll(async () => {
    await h?.close();
  });

  const dbCount = async (sql: string, params: unknown[]) =>
    Number((await h.sql.query(sql, params)).rows[0].n);
  const stats = (tenant: string) => h.retrieval.stats({ tenant });
  const keywordTop = async (tenant: string, q: string, extra: object = {}) =>
    (await h.retrieval.search({ tenant, query: q, k: 5, mode: SearchMode.KEYWORD, ...extra })).hits;

  it("1,000 CloudEvents for two tenants are all searchable and PostgreSQL and the index agree", async () => {
    const jobs: Promise<unknown>[] = [];
    for (const [tenant, n] of Object.entries(counts)) {
      for (let i = 0; i < n; i++) {
        jobs.push(
          publishDataEvent(
            h.bus,
            tenant,
            "crm",
            "upsert",
            {
              id: `doc-${i}`,
              title: `Report ${i}`,
              text: docText(tenant, i),
              metadata: { region: i % 2 ? "north" : "south" },
            },
            { format: "cloudevents" },
          ),
        );
      }
    }
    await Promise.all(jobs);
    for (const [tenant, n] of Object.entries(counts)) {
      await waitFor(async () => Number((await stats(tenant)).documents) === n, {
        timeoutMs: 180_000,
        what: `${tenant} searchable`,
      });
    }
    await h.settle();
    for (const [tenant, n] of Object.entries(counts)) {
      const s = await stats(tenant);
      const docs = await dbCount(
        "select count(*)::int n from ingestion.documents where tenant = $1 and not deleted",
        [tenant],
      );
      const chunks = await dbCount(
        "select count(*)::int n from ingestion.chunks where tenant = $1",
        [tenant],
      );
      expect(docs).toBe(n);
      expect(Number(s.documents)).toBe(docs);
      expect(Number(s.chunks)).toBe(chunks);
      expect(Number(s.vectors)).toBe(chunks);
    }
    const hits = await keywordTop("acme", marker("acme", 123));
    expect(hits[0]?.documentId).toBe("doc-123");
    expect(hits[0]?.modelVersion).not.toBe("");
    const dense = await h.retrieval.search({
      tenant: "acme",
      query: "quarterly revenue report",
      k: 5,
      mode: SearchMode.DENSE,
    });
    expect(dense.hits.length).toBe(5);
    expect(dense.hits[0]!.denseScore).toBeGreaterThan(0.5);
  });

  it("an identical re-publish changes nothing; an update retires the old text; a delete removes it", async () => {
    const before = await stats("acme");
    const revBefore = await dbCount(
      "select sum(revision)::int n from ingestion.documents where tenant = 'acme'",
      [],
    );
    for (let i = 0; i < 50; i++) {
      // A new event id each time, so it is the ingestion service (not the broker) that must see "unchanged".
      await publishDataEvent(
        h.bus,
        "acme",
        "crm",
        "upsert",
        {
          id: `doc-${i}`,
          title: `Report ${i}`,
          text: docText("acme", i),
          metadata: { region: i % 2 ? "north" : "south" },
        },
        { format: "cloudevents", eventId: `again-${i}` },
      );
    }
    await h.settle();
    const after = await stats("acme");
    expect(after.chunks).toBe(before.chunks);
    expect(after.vectors).toBe(before.vectors);
    expect(
      await dbCount(
        "select sum(revision)::int n from ingestion.documents where tenant = 'acme'",
        [],
      ),
    ).toBe(revBefore);
    const embedded = await h.bus.jsm.streams.info(h.bus.subjects.stream("EMBEDDING"));

    await publishDataEvent(h.bus, "acme", "crm", "upsert", {
      id: "doc-7",
      title: "Report 7",
      text: "Rewritten entirely: the zqnewx7 procurement policy replaced the old filing.",
    });
    await waitFor(async () => (await keywordTop("acme", "zqnewx7"))[0]?.documentId === "doc-7", {
      what: "updated text searchable",
    });
    await h.settle();
    expect(await keywordTop("acme", marker("acme", 7))).toEqual([]);
    expect(
      (await h.bus.jsm.streams.info(h.bus.subjects.stream("EMBEDDING"))).state.messages,
    ).toBeGreaterThan(embedded.state.messages);

    await publishDataEvent(h.bus, "acme", "crm", "delete", { id: "doc-7" });
    await waitFor(async () => (await keywordTop("acme", "zqnewx7")).length === 0, {
      what: "deleted document gone",
    });
    await h.settle();
    expect(Number((await stats("acme")).documents)).toBe(counts.acme - 1);
    await expect(
      h.ingestion.getDocument({ tenant: "acme", source: "crm", id: "doc-7" }),
    ).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("tenant A's search never returns tenant B's chunks, whatever the filters", async () => {
    const chunkIds = async (tenant: string) =>
      new Set(
        (
          await h.sql.query<{ chunk_id: string }>(
            "select chunk_id from ingestion.chunks where tenant = $1",
            [tenant],
          )
        ).rows.map((r) => r.chunk_id),
      );
    const owned = { acme: await chunkIds("acme"), globex: await chunkIds("globex") };
    expect(owned.acme.size).toBeGreaterThan(0);
    expect(owned.globex.size).toBeGreaterThan(0);
    const filters: { sources?: string[]; metadata?: Record<string, string> }[] = [
      {},
      { sources: ["crm"] },
      { metadata: { region: "south" } },
      { sources: ["crm"], metadata: { region: "south" } },
    ];
    for (const [tenant, other] of [
      ["globex", "acme"],
      ["acme", "globex"],
    ] as const) {
      // The other tenant's marker plus words both tenants' documents share: every mode finds
      // something of the searching tenant's own, so an empty answer cannot pass for isolation.
      const otherWord = marker(other, 42);
      for (const mode of [SearchMode.KEYWORD, SearchMode.DENSE, SearchMode.HYBRID]) {
        for (const extra of filters) {
          const what = `${tenant} ${SearchMode[mode]} ${JSON.stringify(extra)}`;
          const r = await h.retrieval.search({
            tenant,
            query: `${otherWord} ${other} quarterly report`,
            k: 50,
            mode,
            ...extra,
          });
          expect(r.hits.length, what).toBeGreaterThan(0);
          const foreign = r.hits.filter(
            (hit) =>
              !owned[tenant].has(hit.chunkId) ||
              owned[other].has(hit.chunkId) ||
              hit.text.includes(otherWord) ||
              !hit.text.includes(tenant),
          );
          expect(foreign, what).toEqual([]);
          if (extra.sources)
            expect(
              r.hits.every((hit) => hit.source === "crm"),
              what,
            ).toBe(true);
          if (extra.metadata) {
            expect(
              r.hits.every((hit) => hit.metadata["region"] === "south"),
              what,
            ).toBe(true);
          }
        }
      }
      // The word is there to be found: its own tenant's keyword search finds it at once.
      const own = await keywordTop(other, otherWord, { metadata: { region: "south" } });
      expect(own[0]?.documentId).toBe("doc-42");
      expect(owned[other].has(own[0]!.chunkId)).toBe(true);
    }
    const wrongRegion = await keywordTop("acme", marker("acme", 42), {
      metadata: { region: "north" },
    });
    expect(wrongRegion.map((x) => x.documentId)).not.toContain("doc-42");
  });

  it("RPC bad input gets INVALID_ARGUMENT naming the field; an unknown document gets NOT_FOUND", async () => {
    const expectCode = async (p: Promise<unknown>, code: Code, field: string) => {
      const err = await rpcError(p);
      expect(err?.code).toBe(code);
      expect(err?.rawMessage).toContain(field);
    };
    await expectCode(
      h.retrieval.search({ tenant: "", query: "x" }),
      Code.InvalidArgument,
      "tenant",
    );
    await expectCode(
      h.retrieval.search({ tenant: "acme", query: "  " }),
      Code.InvalidArgument,
      "query",
    );
    await expectCode(
      h.retrieval.search({ tenant: "acme", query: "x", k: 5000 }),
      Code.InvalidArgument,
      "k",
    );
    await expectCode(
      h.ingestion.ingestDocuments({
        tenant: "acme",
        source: "crm",
        documents: [{ id: "", text: "x" }],
      }),
      Code.InvalidArgument,
      "documents[0].id",
    );
    await expectCode(
      h.ingestion.ingestDocuments({
        tenant: "ac.me",
        source: "crm",
        documents: [{ id: "a", text: "x" }],
      }),
      Code.InvalidArgument,
      "tenant",
    );
    await expectCode(
      h.ingestion.ingestDocuments({
        tenant: "acme",
        source: "crm",
        documents: [{ id: "a", text: "x", contentType: "image/png" }],
      }),
      Code.InvalidArgument,
      "documents[0].content_type",
    );
    await expectCode(
      h.ingestion.getDocument({ tenant: "acme", source: "crm", id: "no-such-doc" }),
      Code.NotFound,
      "no-such-doc",
    );
    await expectCode(
      h.ingestion.deleteDocument({ tenant: "acme", source: "crm", id: "no-such-doc" }),
      Code.NotFound,
      "no-such-doc",
    );
    await expectCode(
      h.ingestion.listDocuments({ tenant: "acme", pageToken: "garbage" }),
      Code.InvalidArgument,
      "page_token",
    );

    const ok = await h.ingestion.ingestDocuments({
      tenant: "acme",
      source: "wiki",
      documents: [
        {
          id: "page-1",
          title: "Onboarding",
          text: "<h1>Onboarding</h1><p>New staff receive the zqwiki1 badge.</p><script>var x = 'zqscript';</script>",
          contentType: "text/html",
        },
      ],
    });
    expect(ok.results[0]?.chunkCount).toBe(1);
    await waitFor(async () => (await keywordTop("acme", "zqwiki1"))[0]?.documentId === "page-1", {
      what: "RPC-ingested page searchable",
    });
    expect(await keywordTop("acme", "zqscript")).toEqual([]);
    const got = await h.ingestion.getDocument({
      tenant: "acme",
      source: "wiki",
      id: "page-1",
      includeChunks: true,
    });
    expect(got.chunks[0]?.text).toContain("zqwiki1");
    const page1 = await h.ingestion.listDocuments({ tenant: "acme", source: "crm", pageSize: 250 });
    const page2 = await h.ingestion.listDocuments({
      tenant: "acme",
      source: "crm",
      pageSize: 250,
      pageToken: page1.nextPageToken,
    });
    const page3 = await h.ingestion.listDocuments({
      tenant: "acme",
      source: "crm",
      pageSize: 250,
      pageToken: page2.nextPageToken,
    });
    const ids = new Set(
      [...page1.documents, ...page2.documents, ...page3.documents].map((d) => d.id),
    );
    expect(ids.size).toBe(counts.acme - 1);
    expect(page3.nextPageToken).toBe("");
  });

  it("the CLI ingests a JSONL file and writes a TREC run for a topics file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tailor-cli-"));
    try {
      const jsonl = join(dir, "docs.jsonl");
      const lines = [
        {
          id: "k1",
          title: "Kayaks",
          text: "Sea kayaks zqkayak need a spray deck.",
          metadata: { topic: "boats" },
        },
        {
          id: "k2",
          title: "Canoes",
          text: "Open canoes zqcanoe carry more gear than kayaks.",
          metadata: { topic: "boats" },
        },
      ];
      await writeFile(jsonl, `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
      const r = await ingest({
        natsUrl: testNatsUrl(),
        busPrefix: h.prefix,
        tenant: "cli",
        source: "files",
        format: "cloudevents",
        jsonl,
        progress: false,
      });
      expect(r.published).toBe(2);
      await waitFor(async () => Number((await stats("cli")).documents) === 2, {
        what: "CLI documents searchable",
      });
      const topics = join(dir, "topics.tsv");
      await writeFile(topics, "1\tkayak spray deck zqkayak\n2\tcanoe gear zqcanoe\n");
      const run = join(dir, "run.txt");
      const out = await batchSearch(h.retrieval, {
        tenant: "cli",
        topics,
        run,
        k: 1000,
        mode: "keyword",
        tag: "t",
      });
      expect(out.topics).toBe(2);
      const rows = (await readFile(run, "utf8"))
        .trim()
        .split("\n")
        .map((l) => l.split(" "));
      expect(rows.every((r) => r.length === 6 && r[1] === "Q0" && r[5] === "t")).toBe(true);
      expect(rows.find((r) => r[0] === "1" && r[3] === "1")?.[2]).toBe("k1");
      expect(rows.find((r) => r[0] === "2" && r[3] === "1")?.[2]).toBe("k2");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
