import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { publishArtifact } from "@tailor/artifacts";
import { mulberry32 } from "@tailor/models";
import { ModelService, SearchMode } from "@tailor/proto";
import { type Harness, ROOT, rpcError, startHarness, waitFor } from "@tailor/testing";
import { writeAdapterModelFolder } from "@tailor/train";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const DOCS = [
  ["libraries", "Libraries", "Public libraries lend books and journals to readers in the city."],
  ["indexing", "Indexing", "Automatic indexing assigns subject terms to documents for retrieval."],
  ["citations", "Citations", "Citation analysis counts how often scientific papers are cited."],
  ["catalogs", "Catalogs", "Library catalogs describe books by author, title and subject."],
  ["search", "Search", "Online search systems match the words of a query against documents."],
] as const;
const doc = ([id, title, text]: readonly [string, string, string]) => ({ id, title, text });

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

describe("index versions: a chained adapter's index built beside the served one (real stack)", () => {
  let h: Harness;
  let models: Client<typeof ModelService>;
  let modelDir: string;
  let base = "";
  let adapter = "";
  const token = randomBytes(16).toString("hex");
  const admin = { headers: { authorization: `Bearer ${token}` } };

  const vectorsOf = async (tenant: string) => {
    const s = await h.retrieval.stats({ tenant });
    return Object.fromEntries(s.indexVersions.map((v) => [v.modelVersion, Number(v.vectors)]));
  };
  const embedAt = async (version: string, texts: string[]) => {
    const [model, v] = version.split("@") as [string, string];
    const r = await models.embed({ model, version: v, texts });
    expect(`${r.model}@${r.version}`).toBe(version);
    return Array.from({ length: texts.length }, (_, i) =>
      new Float32Array(r.vectors.slice().buffer).subarray(i * r.dimensions, (i + 1) * r.dimensions),
    );
  };

  beforeAll(async () => {
    // A model dir of the suite's own, with the built-in GloVe files linked in (not rebuilt).
    modelDir = await mkdtemp(join(tmpdir(), "tailor-index-versions-models-"));
    const shared = process.env["TAILOR_TEST_MODEL_DIR"] ?? join(ROOT, ".tailor/models");
    for (const folder of await readdir(shared)) {
      await mkdir(join(modelDir, folder));
      for (const f of await readdir(join(shared, folder)))
        await symlink(join(shared, folder, f), join(modelDir, folder, f));
    }
    const glove = JSON.parse(await readFile(join(shared, "glove-sg-100d", "config.json"), "utf8"));
    base = `${glove.name}@${glove.version}`;
    // A random near-identity linear adapter, pinned to the base, published the way a trainer
    // would: its version is a hash of its files, which name the base's exact version.
    const d = glove.dimensions as number;
    const rng = mulberry32(5);
    const params = Float32Array.from({ length: d * d + d }, () => (rng() * 2 - 1) * 0.2);
    for (let i = 0; i < d; i++) params[i * d + i] = params[i * d + i]! + 1;
    const src = join(modelDir, ".src-adapter");
    const files = await writeAdapterModelFolder(src, {
      spec: { dims: d, architecture: { kind: "linear" } },
      params,
      base,
      name: "acme-adapter",
    });
    const hash = createHash("sha256");
    for (const f of [files.modelPath, files.configPath]) hash.update(await readFile(f));
    adapter = `acme-adapter@${hash.digest("hex").slice(0, 12)}`;
    await publishArtifact(src, "acme-adapter", adapter.split("@")[1]!, { root: modelDir });

    h = await startHarness("idxver", {
      TAILOR_MODEL_SERVER_MODEL_DIR: modelDir,
      TAILOR_MODEL_SERVER_ADMIN_TOKEN: token,
      TAILOR_RETRIEVAL_BUILD_PAGE: "2",
      TAILOR_RETRIEVAL_BUILD_EMBED_BATCH: "3",
    });
    models = createClient(
      ModelService,
      createGrpcTransport({ baseUrl: h.stack.url("model-server") }),
    );
    await h.ingestion.ingestDocuments({ tenant: "acme", source: "wiki", documents: DOCS.map(doc) });
    await h.ingestion.ingestDocuments({
      tenant: "globex",
      source: "wiki",
      documents: [doc(DOCS[0]), doc(DOCS[1])],
    });
    await h.settle();
  }, 300_000);
  afterAll(async () => {
    await h?.close();
    if (modelDir) await rm(modelDir, { recursive: true, force: true });
  });

  it("refuses a version the model-server has not loaded, naming it", async () => {
    const err = await rpcError(
      h.retrieval.buildIndexVersion({ tenant: "acme", modelVersion: adapter, wait: true }),
    );
    expect(err?.code).toBe(Code.FailedPrecondition);
    expect(err?.rawMessage).toContain(adapter);
    const served = await rpcError(
      h.retrieval.buildIndexVersion({ tenant: "acme", modelVersion: base, wait: true }),
    );
    expect(served?.code).toBe(Code.FailedPrecondition);
    expect(await vectorsOf("acme")).toEqual({ [base]: expect.any(Number) });
  });

  it("builds the adapter's index beside the served one; a second call is a no-op", async () => {
    const { model } = await models.loadModel(
      { name: "acme-adapter", version: adapter.split("@")[1]! },
      admin,
    );
    expect(model).toMatchObject({ kind: "adapter", dimensions: 100 });
    const before = await h.retrieval.stats({ tenant: "acme" });
    const r = await h.retrieval.buildIndexVersion({
      tenant: "acme",
      modelVersion: adapter,
      wait: true,
    });
    expect(r).toMatchObject({ modelVersion: adapter, done: true });
    expect(r.vectors).toBe(before.vectors);
    expect(r.chunks).toBe(before.chunks);
    const again = await h.retrieval.buildIndexVersion({ tenant: "acme", modelVersion: adapter });
    expect(again).toMatchObject({ done: true, vectors: r.vectors });
    const stats = await h.retrieval.stats({ tenant: "acme" });
    expect(stats.modelVersion).toBe(base);
    expect(stats.vectors).toBe(before.vectors);
    expect(await vectorsOf("acme")).toEqual({
      [base]: Number(before.vectors),
      [adapter]: Number(before.vectors),
    });
    // Another tenant's index is untouched.
    expect(Object.keys(await vectorsOf("globex"))).toEqual([base]);
  });

  it("searches the new version with the query embedded at it, never across versions", async () => {
    const query = "subject indexing of documents";
    const res = await h.retrieval.search({
      tenant: "acme",
      query,
      k: 3,
      mode: SearchMode.DENSE,
      modelVersion: adapter,
    });
    expect(res.modelVersion).toBe(adapter);
    expect(res.hits.length).toBeGreaterThan(0);
    const top = res.hits[0]!;
    expect(top.modelVersion).toBe(adapter);
    // The score is the cosine of the query and the chunk both embedded at the adapter version,
    // and not what the base version's vectors give.
    const [q, c] = await embedAt(adapter, [query, `${top.title}\n${top.text}`]);
    const [qb, cb] = await embedAt(base, [query, `${top.title}\n${top.text}`]);
    expect(top.denseScore).toBeCloseTo(cosine(q!, c!), 4);
    expect(Math.abs(cosine(qb!, cb!) - cosine(q!, c!))).toBeGreaterThan(1e-3);
    const atBase = await h.retrieval.search({
      tenant: "acme",
      query,
      k: 3,
      mode: SearchMode.DENSE,
    });
    expect(atBase.modelVersion).toBe(base);
    expect(atBase.hits[0]?.denseScore).toBeCloseTo(cosine(qb!, cb!), 4);
    // A version the tenant has no index of is refused, not answered from another version.
    const other = await rpcError(
      h.retrieval.search({
        tenant: "globex",
        query,
        k: 3,
        mode: SearchMode.DENSE,
        modelVersion: adapter,
      }),
    );
    expect(other?.code).toBe(Code.FailedPrecondition);
  });

  it("keeps the built version current: new chunks and deletions reach both versions, also after a restart", async () => {
    await h.ingestion.ingestDocuments({
      tenant: "acme",
      source: "wiki",
      documents: [doc(["journals", "Journals", "Scientific journals publish papers for readers."])],
    });
    await h.settle();
    const same = async () => {
      const v = await vectorsOf("acme");
      const s = await h.retrieval.stats({ tenant: "acme" });
      return v[base] === Number(s.chunks) && v[adapter] === v[base];
    };
    await waitFor(same, { timeoutMs: 30_000, what: "both versions to hold the new document" });
    const hit = await h.retrieval.search({
      tenant: "acme",
      query: "scientific journals",
      k: 1,
      mode: SearchMode.DENSE,
      modelVersion: adapter,
    });
    expect(hit.hits[0]?.documentId).toBe("journals");

    await h.stack.kill("retrieval");
    h.stack.startService("retrieval");
    await h.stack.waitHealthy(120_000, ["retrieval"]);
    await h.ingestion.deleteDocument({ tenant: "acme", source: "wiki", id: "citations" });
    await h.ingestion.ingestDocuments({
      tenant: "acme",
      source: "crm",
      documents: [doc(["readers", "Readers", "Readers borrow books from public libraries."])],
    });
    await h.settle();
    await waitFor(same, { timeoutMs: 30_000, what: "both versions to follow after a restart" });
    const state = JSON.parse(await readFile(join(h.dataDir, "retrieval", "state.json"), "utf8"));
    expect(state.versions.acme[adapter]).toMatchObject({ status: "live", stale: false });
    const v = await vectorsOf("acme");
    const gone = await h.retrieval.search({
      tenant: "acme",
      query: "citation analysis",
      k: 10,
      mode: SearchMode.DENSE,
      modelVersion: adapter,
    });
    expect(gone.hits.some((x) => x.documentId === "citations")).toBe(false);
    expect(v[adapter]).toBe(v[base]);
  });

  it("marks the version stale when its embedder is away, without holding up the served index; a build repairs it", async () => {
    const [name, v] = adapter.split("@") as [string, string];
    await models.unloadModel({ name, version: v }, admin);
    await h.ingestion.ingestDocuments({
      tenant: "acme",
      source: "wiki",
      documents: [doc(["authors", "Authors", "Authors write books and papers for journals."])],
    });
    await h.settle();
    const stale = await vectorsOf("acme");
    const s = await h.retrieval.stats({ tenant: "acme" });
    expect(stale[base]).toBe(Number(s.chunks));
    expect(stale[adapter]).toBeLessThan(stale[base]!);
    const state = JSON.parse(await readFile(join(h.dataDir, "retrieval", "state.json"), "utf8"));
    expect(state.versions.acme[adapter]).toMatchObject({ stale: true });
    // Repairing needs the embedder back: until then a build is refused, naming it.
    const away = await rpcError(
      h.retrieval.buildIndexVersion({ tenant: "acme", modelVersion: adapter }),
    );
    expect(away?.code).toBe(Code.FailedPrecondition);
    expect(away?.rawMessage).toContain(adapter);

    await models.loadModel({ name, version: v }, admin);
    const r = await h.retrieval.buildIndexVersion({
      tenant: "acme",
      modelVersion: adapter,
      wait: true,
    });
    expect(r.done).toBe(true);
    expect(await vectorsOf("acme")).toEqual({ [base]: stale[base], [adapter]: stale[base] });
  });

  it("drops a version no alias uses, and refuses the served one and one an alias uses", async () => {
    const served = await rpcError(
      h.retrieval.dropIndexVersion({ tenant: "acme", modelVersion: base }),
    );
    expect(served?.code).toBe(Code.FailedPrecondition);
    // globex builds it too, and its registry prod alias searches it.
    // One call that does not wait and one that does: the second joins the first's build.
    const [started, joined] = await Promise.all([
      h.retrieval.buildIndexVersion({ tenant: "globex", modelVersion: adapter }),
      h.retrieval.buildIndexVersion({ tenant: "globex", modelVersion: adapter, wait: true }),
    ]);
    expect(started.modelVersion).toBe(adapter);
    expect(joined.done).toBe(true);
    const globex = await vectorsOf("globex");
    // Only globex's own chunks: ListChunks is tenant-scoped.
    expect(globex[adapter]).toBe(globex[base]);
    expect(Number(joined.vectors)).toBe(globex[base]);
    await h.registry.registerVersion({
      tenant: "globex",
      model: "retrieval",
      spec: {
        embedder: adapter,
        bm25K1: 0.9,
        bm25B: 0.4,
        rm3Terms: 10,
        rm3Weight: 0.5,
        denseWeight: 0.2,
        candidates: 100,
      },
    });
    const aliased = await rpcError(
      h.retrieval.dropIndexVersion({ tenant: "globex", modelVersion: adapter }),
    );
    expect(aliased?.code).toBe(Code.FailedPrecondition);
    expect(aliased?.rawMessage).toContain("alias prod");
    expect((await vectorsOf("globex"))[adapter]).toBeGreaterThan(0);

    const acme = await vectorsOf("acme");
    const dropped = await h.retrieval.dropIndexVersion({ tenant: "acme", modelVersion: adapter });
    expect(Number(dropped.vectorsDropped)).toBe(acme[adapter]);
    expect(await vectorsOf("acme")).toEqual({ [base]: acme[base] });
    expect((await vectorsOf("globex"))[adapter]).toBeGreaterThan(0);
  });
});
