import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type ObjectStore, Objm } from "@nats-io/obj";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { deleteStreams, Subjects } from "@tailor/bus";
import { writeModelFolder } from "@tailor/models";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ArtifactExistsError,
  ArtifactIntegrityError,
  ArtifactNotFoundError,
  compareVersions,
  LocalArtifactStore,
  MANIFEST_FILE,
  publishArtifact,
  sha256File,
} from "./artifact-store.js";
import { ObjectStoreArtifactStore, publishArtifactToBucket } from "./object-store-artifacts.js";
import { startTestServer } from "./test-server.js";

let root: string;
let src: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tailor-artifacts-"));
  src = join(root, "src");
  await writeModelFolder(src, { kind: "classifier", poolingStyle: "sentence-transformers" });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("compareVersions", () => {
  it("orders numeric runs as numbers and is total", () => {
    const sorted = ["1.10.0", "1.9.2", "2", "1.0-rc1", "1.0.1", "2024-06-01", "2024-05-31"].sort(
      compareVersions,
    );
    expect(sorted).toEqual([
      "1.0-rc1",
      "1.0.1",
      "1.9.2",
      "1.10.0",
      "2",
      "2024-05-31",
      "2024-06-01",
    ]);
    expect(compareVersions("1.0", "1.0")).toBe(0);
  });
});

describe("LocalArtifactStore", () => {
  it("publishes a folder with a manifest, resolves the newest version and verifies it", async () => {
    const store = join(root, "local");
    const m = await publishArtifact(src, "cls", "2", { root: store });
    await publishArtifact(src, "cls", "10", { root: store });
    expect(m.kind).toBe("classifier");
    expect(Object.keys(m.files)).toContain("1_Pooling/config.json");
    expect(m.files["model.onnx"]).toBe(await sha256File(join(src, "model.onnx")));
    const s = new LocalArtifactStore(store);
    const a = await s.resolve("cls");
    expect(a).toMatchObject({ name: "cls", version: "10", kind: "classifier" });
    expect((await s.resolve("cls", "2")).dir).toBe(join(store, "cls", "2"));
    await expect(publishArtifact(src, "cls", "2", { root: store })).rejects.toThrow(
      ArtifactExistsError,
    );
    await expect(s.resolve("cls", "3")).rejects.toThrow(ArtifactNotFoundError);
    await expect(s.resolve("other")).rejects.toThrow(ArtifactNotFoundError);
  });

  it("names the file that is missing or whose checksum differs", async () => {
    const store = join(root, "bad");
    await publishArtifact(src, "m", "1", { root: store });
    const s = new LocalArtifactStore(store);
    await appendFile(join(store, "m", "1", "tokenizer.json"), "\n");
    const err = await s.resolve("m").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactIntegrityError);
    expect((err as ArtifactIntegrityError).file).toBe("tokenizer.json");
    expect((err as Error).message).toContain("tokenizer.json");

    await rm(join(store, "m", "1", "tokenizer.json"));
    await expect(s.resolve("m")).rejects.toThrow(/tokenizer\.json is listed .* but missing/);
  });

  it("rejects a manifest whose paths leave the folder", async () => {
    const store = join(root, "escape");
    await publishArtifact(src, "m", "1", { root: store });
    const path = join(store, "m", "1", MANIFEST_FILE);
    const manifest = JSON.parse(await readFile(path, "utf8"));
    manifest.files["../../secret"] = "0".repeat(64);
    await writeFile(path, JSON.stringify(manifest));
    await expect(new LocalArtifactStore(store).resolve("m")).rejects.toThrow(/leaves the folder/);
  });
});

describe("ObjectStoreArtifactStore (JetStream Object Store)", () => {
  const url = process.env.TAILOR_TEST_NATS_URL ?? "nats://127.0.0.1:4222";
  const bucket = `tailor-test-models-${process.pid}-${Date.now()}`;
  let nc: NatsConnection | undefined;
  let os: ObjectStore;

  beforeAll(async () => {
    nc = await connect({ servers: url, timeout: 3000 }).catch(() => undefined);
    if (nc) os = await new Objm(jetstream(nc)).create(bucket);
  });

  afterAll(async () => {
    await os?.destroy().catch(() => {});
    await nc?.close();
  });

  it("publishes to a bucket, downloads into the cache, verifies, and refetches a damaged copy", async (ctx) => {
    if (!nc) ctx.skip(`no nats-server at ${url}`);
    await publishArtifactToBucket(os, src, "cls", "1.2");
    await publishArtifactToBucket(os, src, "cls", "1.10");
    await expect(publishArtifactToBucket(os, src, "cls", "1.2")).rejects.toThrow(
      ArtifactExistsError,
    );
    const cache = join(root, "cache");
    const store = new ObjectStoreArtifactStore(os, cache);
    expect((await store.versions("cls")).sort(compareVersions)).toEqual(["1.2", "1.10"]);
    const a = await store.resolve("cls");
    expect(a).toMatchObject({
      version: "1.10",
      kind: "classifier",
      dir: join(cache, "cls", "1.10"),
    });
    expect(await readFile(join(a.dir, "1_Pooling", "config.json"))).toEqual(
      await readFile(join(src, "1_Pooling", "config.json")),
    );

    await appendFile(join(a.dir, "model.onnx"), "x");
    const again = await store.resolve("cls", "1.10");
    expect(await sha256File(join(again.dir, "model.onnx"))).toBe(
      await sha256File(join(src, "model.onnx")),
    );
    await expect(store.resolve("ghost")).rejects.toThrow(ArtifactNotFoundError);
  });

  it("serves LoadModel from the bucket when TAILOR_MODEL_SERVER_ARTIFACT_BUCKET is set", async (ctx) => {
    if (!nc) ctx.skip(`no nats-server at ${url}`);
    await publishArtifactToBucket(os, src, "served", "3");
    const prefix = `mstest${process.pid}`;
    const srv = await startTestServer(join(root, "served-cache"), {
      TAILOR_NATS_URL: url,
      TAILOR_BUS_PREFIX: prefix,
      TAILOR_MODEL_SERVER_ARTIFACT_BUCKET: bucket,
      TAILOR_MODEL_SERVER_PRELOAD: "served",
    });
    try {
      const { models } = await srv.client.listModels({});
      expect(models.map((m) => `${m.name}@${m.version}:${m.kind}`)).toEqual([
        "served@3:classifier",
      ]);
      const c = await srv.client.classify({ model: "served", texts: ["the dog"] });
      expect(c.results[0]!.labels).toHaveLength(3);
    } finally {
      await srv.handle.destroy();
      await deleteStreams(await jetstreamManager(nc!), new Subjects(prefix));
    }
  });
});
