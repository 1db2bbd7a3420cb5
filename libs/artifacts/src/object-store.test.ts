import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import type { ObjectStore } from "@nats-io/obj";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { writeModelFolder } from "@tailor/models/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArtifactExistsError, ArtifactNotFoundError } from "./errors.js";
import { sha256File } from "./manifest.js";
import {
  ObjectStoreArtifactStore,
  openArtifactBucket,
  publishArtifactToBucket,
} from "./object-store.js";
import { compareVersions } from "./versions.js";

describe("ObjectStoreArtifactStore (JetStream Object Store)", () => {
  const url = process.env.TAILOR_TEST_NATS_URL ?? "nats://127.0.0.1:4222";
  const bucket = `tailor-test-models-${process.pid}-${Date.now()}`;
  let root: string;
  let src: string;
  let nc: NatsConnection | undefined;
  let os: ObjectStore;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "tailor-artifacts-"));
    src = join(root, "src");
    await writeModelFolder(src, { kind: "classifier", poolingStyle: "sentence-transformers" });
    nc = await connect({ servers: url, timeout: 3000 }).catch(() => undefined);
    if (nc) os = await openArtifactBucket(jetstream(nc), bucket);
  });

  afterAll(async () => {
    await os?.destroy().catch(() => {});
    await nc?.close();
    await rm(root, { recursive: true, force: true });
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
});
