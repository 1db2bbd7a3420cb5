import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCli, documentVersion, runCli } from "@tailor/cli";
import { contentHash } from "@tailor/ingestion";
import { SearchMode } from "@tailor/proto";
import { type Harness, startHarness, testNatsUrl } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const doc = (id: string, word: string, extra: object = {}) =>
  JSON.stringify({
    id,
    title: `Note ${id}`,
    text: `Field note ${id}. The marker ${word} appears only here.`,
    metadata: { team: "field", n: id },
    ...extra,
  });

describe("tailor against a running stack (real NATS, PostgreSQL and services)", () => {
  let h: Harness;
  let dir: string;
  let env: Record<string, string>;
  const tailor = (...args: string[]) => runCli(args, { env, cwd: dir, timeoutMs: 180_000 });
  const keyword = async (tenant: string, query: string) =>
    (await h.retrieval.search({ tenant, query, k: 5, mode: SearchMode.KEYWORD })).hits;

  beforeAll(async () => {
    const [harness] = await Promise.all([startHarness("cli"), buildCli()]);
    h = harness;
    dir = await mkdtemp(join(tmpdir(), "tailor-cli-e2e-"));
    env = {
      TAILOR_NATS_URL: testNatsUrl(),
      TAILOR_BUS_PREFIX: h.prefix,
      TAILOR_INGESTION_URL: h.stack.url("ingestion"),
      TAILOR_RETRIEVAL_URL: h.stack.url("retrieval"),
      TAILOR_MODEL_SERVER_URL: h.stack.url("model-server"),
    };
  }, 300_000);
  afterAll(async () => {
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the CLI's version of a document is the one the ingestion service stores", () => {
    const d = { id: "x", title: "T", text: "body", contentType: "", metadata: { b: "2", a: "1" } };
    const stored = { ...d, tenant: "t", source: "s" };
    expect(documentVersion(d)).toBe(contentHash(stored, "text/plain"));
    expect(documentVersion({ ...d, contentType: "text/markdown" })).toBe(
      contentHash({ ...stored, contentType: "text/markdown" }, "text/markdown"),
    );
  });

  it("--on-error skip publishes the good lines, names the bad one, and --wait returns only when they are searchable", async () => {
    const file = join(dir, "skip.jsonl");
    await writeFile(file, `${doc("s1", "zqalpha")}\n{"id": broken\n${doc("s2", "zqbravo")}\n`);
    const r = await tailor(
      "ingest",
      "--tenant",
      "clia",
      "--jsonl",
      file,
      "--on-error",
      "skip",
      "--wait",
    );
    expect(r.stdout).toContain("published 2 documents to tenant clia");
    expect(r.stderr).toContain(`${file}:2: not valid JSON`);
    expect(r.stdout).toMatch(/2 documents searchable after/);
    // A skipped line is not a clean run: scripts see it.
    expect(r.code).toBe(1);
    // No waiting here: --wait has already waited.
    expect((await keyword("clia", "zqalpha"))[0]?.documentId).toBe("s1");
    expect((await keyword("clia", "zqbravo"))[0]?.documentId).toBe("s2");
  });

  it("--on-error stop (the default) stops at the bad line and says what was published before it", async () => {
    const file = join(dir, "stop.jsonl");
    await writeFile(
      file,
      `${doc("t1", "zqcharlie")}\n{"title":"no id"}\n${doc("t2", "zqdelta")}\n`,
    );
    const r = await tailor("ingest", "--tenant", "clib", "--jsonl", file, "--wait");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("published 1 document to tenant clib");
    expect(r.stderr).toContain(`stopped at ${file}:2 (--on-error stop): 1 document was published`);
    expect(r.stderr).toContain('"id" is required');
    expect((await keyword("clib", "zqcharlie"))[0]?.documentId).toBe("t1");
    expect(await keyword("clib", "zqdelta")).toEqual([]);
  });

  it("--wait waits for the new version of a changed document, and returns at once for an unchanged one", async () => {
    const file = join(dir, "change.jsonl");
    await writeFile(file, `${doc("c1", "zqecho")}\n`);
    const first = await tailor("ingest", "--tenant", "clic", "--jsonl", file, "--wait");
    expect(first.code, first.stderr).toBe(0);
    await writeFile(file, `${doc("c1", "zqfoxtrot")}\n`);
    const changed = await tailor("ingest", "--tenant", "clic", "--jsonl", file, "--wait");
    expect(changed.code, changed.stderr).toBe(0);
    expect((await keyword("clic", "zqfoxtrot"))[0]?.documentId).toBe("c1");
    const again = await tailor("ingest", "--tenant", "clic", "--jsonl", file, "--wait");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("1 document searchable after");
  });

  it("stats, list, get, search --json and delete", async () => {
    const file = join(dir, "ops.jsonl");
    await writeFile(file, `${doc("o1", "zqgolf")}\n${doc("o2", "zqhotel")}\n`);
    const ing = await tailor(
      "ingest",
      "--tenant",
      "clid",
      "--jsonl",
      file,
      "--source",
      "notes",
      "--wait",
    );
    expect(ing.code, ing.stderr).toBe(0);

    const stats = await tailor("stats", "--tenant", "clid", "--json");
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ tenant: "clid", documents: 2 });
    expect((await tailor("stats", "--tenant", "clid")).stdout).toMatch(
      /^tenant clid: 2 documents, \d+ chunks/,
    );

    const list = await tailor("list", "--tenant", "clid");
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain("notes/o1");
    expect(list.stdout).toContain("notes/o2");
    const listJson = JSON.parse((await tailor("list", "--tenant", "clid", "--json")).stdout);
    expect(listJson.documents.map((d: { id: string }) => d.id).sort()).toEqual(["o1", "o2"]);

    const get = await tailor("get", "--tenant", "clid", "--source", "notes", "o1", "--chunks");
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toContain("title     Note o1");
    expect(get.stdout).toContain("team=field");
    expect(get.stdout).toMatch(/chunk 0 \(\d+ tokens/);

    const search = await tailor(
      "search",
      "--tenant",
      "clid",
      "--json",
      "--mode",
      "keyword",
      "zqgolf",
    );
    expect(search.code, search.stderr).toBe(0);
    const hit = JSON.parse(search.stdout).hits[0];
    expect(hit).toMatchObject({
      documentId: "o1",
      source: "notes",
      title: "Note o1",
      chunkIndex: 0,
      metadata: { team: "field", n: "o1" },
    });
    expect(hit.chunkId).toMatch(/^[0-9a-f]{32}$/);
    expect(hit.keywordScore).toBeGreaterThan(0);
    expect(hit.modelVersion).not.toBe("");

    const del = await tailor("delete", "--tenant", "clid", "--source", "notes", "o1");
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toMatch(/deleted notes\/o1 of tenant clid \(\d+ chunks? retired/);
    const gone = await tailor("get", "--tenant", "clid", "--source", "notes", "o1");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("(NOT_FOUND)");
    expect(gone.stderr.trim().split("\n")).toHaveLength(1);
  });
});
