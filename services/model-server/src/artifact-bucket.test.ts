import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { ObjectStore } from "@nats-io/obj";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { openArtifactBucket, publishArtifactToBucket } from "@tailor/artifacts";
import { deleteStreams, Subjects } from "@tailor/bus";
import { writeModelFolder } from "@tailor/models/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer } from "./test-server.js";

describe("model-server with a JetStream Object Store artifact bucket", () => {
  const url = process.env.TAILOR_TEST_NATS_URL ?? "nats://127.0.0.1:4222";
  const bucket = `tailor-test-models-${process.pid}-${Date.now()}`;
  let root: string;
  let nc: NatsConnection | undefined;
  let os: ObjectStore;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "tailor-artifact-bucket-"));
    await writeModelFolder(join(root, "src"), {
      kind: "classifier",
      poolingStyle: "sentence-transformers",
    });
    nc = await connect({ servers: url, timeout: 3000 }).catch(() => undefined);
    if (nc) os = await openArtifactBucket(jetstream(nc), bucket);
  });

  afterAll(async () => {
    await os?.destroy().catch(() => {});
    await nc?.close();
    await rm(root, { recursive: true, force: true });
  });

  it("serves LoadModel from the bucket when TAILOR_MODEL_SERVER_ARTIFACT_BUCKET is set", async (ctx) => {
    if (!nc) ctx.skip(`no nats-server at ${url}`);
    await publishArtifactToBucket(os, join(root, "src"), "served", "3");
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
