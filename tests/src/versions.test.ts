import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { publishArtifact } from "@tailor/artifacts";
import { Events, publishDataEvent } from "@tailor/bus";
import { writeModelFolder } from "@tailor/models/testing";
import {
  EmbeddedChunkSchema,
  EmbeddingsReadySchema,
  ModelService,
  SearchMode,
} from "@tailor/proto";
import { type Harness, ROOT, startHarness, waitFor } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const TENANT = "vers";
const DOCS = 240;
const marker = (n: number) => `zqvers${n}x`;
const text = (n: number) =>
  `Annual filing ${n}: the harbour authority reported cargo volumes and dredging costs. Code ${marker(n)}.`;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    const ce = ConnectError.from(err);
    return `${Code[ce.code]}: ${ce.rawMessage}`;
  }
}

describe("embedder versions are explicit: a second version never mixes into the served index", () => {
  let h: Harness;
  let models: Client<typeof ModelService>;
  let modelDir: string;
  const token = randomBytes(16).toString("hex");
  const admin = { headers: { authorization: `Bearer ${token}` } };

  beforeAll(async () => {
    // A model dir of the suite's own (so publishing a version touches no other suite), with the
    // built-in GloVe files linked in so they are not rebuilt.
    modelDir = await mkdtemp(join(tmpdir(), "tailor-versions-models-"));
    const shared = join(process.env["TAILOR_TEST_MODEL_DIR"] ?? join(ROOT, ".tailor/models"));
    for (const folder of await readdir(shared).catch(() => [] as string[])) {
      await mkdir(join(modelDir, folder));
      for (const f of await readdir(join(shared, folder)))
        await symlink(join(shared, folder, f), join(modelDir, folder, f));
    }
    h = await startHarness("versions", {
      TAILOR_MODEL_SERVER_MODEL_DIR: modelDir,
      TAILOR_MODEL_SERVER_ADMIN_TOKEN: token,
      // Small batches keep ingestion going while the second version is loaded.
      TAILOR_EMBEDDING_BATCH_MESSAGES: "4",
    });
    models = createClient(
      ModelService,
      createGrpcTransport({ baseUrl: h.stack.url("model-server") }),
    );
  }, 300_000);
  afterAll(async () => {
    await h?.close();
    if (modelDir) await rm(modelDir, { recursive: true, force: true });
  });

  it("loads a newer version of the default embedder mid-ingestion; the tenant's index holds only the served version and every answer names it", async () => {
    const before = (await models.listModels({})).models.filter((m) => m.kind === "embedder");
    expect(before).toHaveLength(1);
    const base = before[0]!;
    const served = `${base.name}@${base.version}`;
    // Retrieval resolves its default version in the background when the model-server is slow to
    // answer at start: the premise here is that it has, before a newer version exists.
    await waitFor(
      async () => (await h.retrieval.stats({ tenant: TENANT })).modelVersion === served,
      { what: "retrieval's default version resolved", timeoutMs: 60_000 },
    );
    // Same name, a version that sorts newer: what "the newest loaded" would silently switch to.
    const src = join(modelDir, ".src-tiny");
    await writeModelFolder(src, { kind: "embedder", pooling: "mean" });
    await publishArtifact(src, base.name, "9", { root: modelDir });
    const second = `${base.name}@9`;

    const publish = (from: number, to: number) =>
      Promise.all(
        Array.from({ length: to - from }, (_, j) =>
          publishDataEvent(
            h.bus,
            TENANT,
            "files",
            "upsert",
            { id: `doc-${from + j}`, title: `Filing ${from + j}`, text: text(from + j) },
            { format: "cloudevents" },
          ),
        ),
      );
    await publish(0, DOCS / 2);
    const loaded = await models.loadModel({ name: base.name, version: "9" }, admin);
    expect(`${loaded.model?.name}@${loaded.model?.version}`).toBe(second);
    expect(loaded.model?.dimensions).not.toBe(base.dimensions);
    // The hazard is real: an Embed call that names no version now gets the second one.
    expect((await models.embed({ texts: ["probe"] })).version).toBe("9");
    await publish(DOCS / 2, DOCS);

    await waitFor(
      async () => Number((await h.retrieval.stats({ tenant: TENANT })).documents) === DOCS,
      {
        what: "every document indexed",
        timeoutMs: 180_000,
      },
    );
    await h.settle();
    const chunks = Number(
      (
        await h.sql.query("select count(*)::int n from ingestion.chunks where tenant = $1", [
          TENANT,
        ])
      ).rows[0].n,
    );
    expect(chunks).toBeGreaterThanOrEqual(DOCS);
    const stats = await h.retrieval.stats({ tenant: TENANT });
    expect(stats.modelVersion).toBe(served);
    expect(Number(stats.vectors)).toBe(chunks);
    expect(stats.indexVersions.map((v) => [v.modelVersion, Number(v.vectors)])).toEqual([
      [served, chunks],
    ]);

    const ask = (extra: { mode: SearchMode; modelVersion?: string }) =>
      h.retrieval.search({ tenant: TENANT, query: `harbour cargo ${marker(7)}`, k: 20, ...extra });
    for (const mode of [SearchMode.DENSE, SearchMode.HYBRID, SearchMode.KEYWORD]) {
      const r = await ask({ mode });
      expect(r.modelVersion, SearchMode[mode]).toBe(served);
      expect(r.denseDegraded).toBe(false);
      expect(r.hits.length, SearchMode[mode]).toBeGreaterThan(0);
      expect(new Set(r.hits.map((x) => x.modelVersion))).toEqual(new Set([served]));
    }
    expect((await ask({ mode: SearchMode.HYBRID })).hits[0]?.documentId).toBe("doc-7");

    // Naming a version the tenant has no index of is refused, not answered from another one.
    expect(await codeOf(ask({ mode: SearchMode.DENSE, modelVersion: second }))).toMatch(
      /^FailedPrecondition: model_version: .*no index version/,
    );
    expect(await codeOf(ask({ mode: SearchMode.DENSE, modelVersion: base.name }))).toMatch(
      /^InvalidArgument: model_version/,
    );
  });

  it("keeps vectors of another version in their own index version, searched only at that version", async () => {
    const second = (await models.listModels({})).models.find((m) => m.version === "9");
    expect(second).toBeDefined();
    const name = `${second!.name}@9`;
    const dims = second!.dimensions;
    const { modelVersion: served } = await h.retrieval.stats({ tenant: TENANT });
    // Vectors made by the second version, as a re-embedding would publish them.
    const vec = new Float32Array(dims).fill(1 / Math.sqrt(dims));
    const ev = create(EmbeddingsReadySchema, {
      tenant: TENANT,
      model: second!.name,
      modelVersion: "9",
      dimensions: dims,
      chunks: [
        create(EmbeddedChunkSchema, {
          chunkId: "v9-only",
          source: "files",
          documentId: "v9-doc",
          title: "Only at nine",
          text: "harbour cargo zqversnine",
          revision: 1n,
        }),
      ],
      vectors: new Uint8Array(vec.buffer),
    });
    await h.bus.publish(h.bus.subjects.embedding(TENANT, "ready"), Events.embeddingsReady, ev, {
      id: `v9-only-${randomBytes(4).toString("hex")}`,
      source: "/test/versions",
    });
    await waitFor(
      async () =>
        (await h.retrieval.stats({ tenant: TENANT })).indexVersions.some(
          (v) => v.modelVersion === name && Number(v.vectors) === 1,
        ),
      { what: "the second index version", timeoutMs: 60_000 },
    );
    const stats = await h.retrieval.stats({ tenant: TENANT });
    expect(stats.modelVersion).toBe(served);
    expect(stats.indexVersions.map((v) => v.modelVersion).sort()).toEqual([name, served].sort());

    // The served index never returns the other version's vector...
    const dense = await h.retrieval.search({
      tenant: TENANT,
      query: "harbour cargo zqversnine",
      k: 1000,
      mode: SearchMode.DENSE,
    });
    expect(dense.modelVersion).toBe(served);
    expect(dense.hits.length).toBeGreaterThan(0);
    expect(dense.hits.map((x) => x.chunkId)).not.toContain("v9-only");
    // ...and searching the other version embeds the query at it and sees only its own index.
    const at9 = await h.retrieval.search({
      tenant: TENANT,
      query: "harbour cargo zqversnine",
      k: 1000,
      mode: SearchMode.DENSE,
      modelVersion: name,
    });
    expect(at9.modelVersion).toBe(name);
    expect(at9.hits.map((x) => [x.chunkId, x.modelVersion])).toEqual([["v9-only", name]]);
  });
});
