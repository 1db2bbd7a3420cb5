import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { publishArtifact } from "@tailor/artifacts";
import { writeAdapterFolder, writeModelFolder } from "@tailor/models/testing";
import { ModelService } from "@tailor/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EncoderModel } from "./runtime/encoder.js";
import { startTestServer, type TestServer } from "./test-server.js";

const TEXTS = ["cat", "The dog likes coffee and tea in the morning.", "", "What is a vector?"];
const QUERY = "where does the dog drink coffee";

let root: string;
let store: string;
let srv: TestServer;
const direct: Record<string, EncoderModel> = {};

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

function floats(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.slice().buffer);
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(tol);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tailor-model-server-"));
  store = join(root, "store");
  const src = (n: string) => join(root, "src", n);
  await writeModelFolder(src("emb"), { kind: "embedder", pooling: "mean" });
  await writeModelFolder(src("rr"), { kind: "reranker", bert: { seed: 2 } });
  await writeModelFolder(src("cls"), { kind: "classifier", bert: { seed: 3 } });
  await writeAdapterFolder(src("adp"), { base: "emb", dimensions: 32 });
  // Two versions of one model: LoadModel without a version must pick 1.10.0 over 1.9.0.
  await publishArtifact(src("emb"), "emb", "1.9.0", { root: store });
  await publishArtifact(src("emb"), "emb", "1.10.0", { root: store });
  await publishArtifact(src("rr"), "rr", "1", { root: store });
  await publishArtifact(src("cls"), "cls", "1", { root: store });
  await publishArtifact(src("adp"), "adp", "1", { root: store });

  await writeModelFolder(src("broken"), { kind: "embedder" });
  await rm(join(src("broken"), "tokenizer.json"));
  await publishArtifact(src("broken"), "broken", "1", { root: store });
  await publishArtifact(src("emb"), "tampered", "1", { root: store });
  await appendFile(join(store, "tampered", "1", "config.json"), " ");

  direct["emb"] = await EncoderModel.load(src("emb"), { intraOpThreads: 1 });
  direct["rr"] = await EncoderModel.load(src("rr"), { intraOpThreads: 1 });
  direct["cls"] = await EncoderModel.load(src("cls"), { intraOpThreads: 1 });
  direct["adp"] = await EncoderModel.load(src("adp"), { intraOpThreads: 1, base: direct["emb"] });

  srv = await startTestServer(store);
});

afterAll(async () => {
  await srv?.handle.destroy();
  for (const m of Object.values(direct)) await m.close();
  await rm(root, { recursive: true, force: true });
});

describe("model-server over gRPC", () => {
  it("loads published models of every encoder kind and lists them", async () => {
    const emb = await srv.client.loadModel({ name: "emb" });
    expect(emb.model).toMatchObject({ name: "emb", version: "1.10.0", kind: "embedder" });
    expect(emb.model?.dimensions).toBe(32);
    await srv.client.loadModel({ name: "rr", version: "1" });
    await srv.client.loadModel({ name: "cls" });
    const adp = await srv.client.loadModel({ name: "adp", base: "emb@1.10.0" });
    expect(adp.model).toMatchObject({ name: "adp", version: "1", kind: "adapter", dimensions: 32 });
    // Loading a loaded version again is a no-op that returns the same model.
    const again = await srv.client.loadModel({ name: "emb", version: "1.10.0" });
    expect(again.model?.version).toBe("1.10.0");

    const { models } = await srv.client.listModels({});
    const byName = Object.fromEntries(models.map((m) => [m.name, m]));
    expect(models.map((m) => `${m.name}@${m.version}`).sort()).toEqual([
      "adp@1",
      "cls@1",
      "emb@1.10.0",
      "rr@1",
    ]);
    expect(byName["rr"]?.kind).toBe("reranker");
    expect(byName["cls"]?.labels).toEqual(["negative", "neutral", "positive"]);
    for (const m of models) {
      expect(m.executionProvider).toBe("cpu");
      expect(m.memoryBytes).toBeGreaterThan(0n);
      expect(m.queueDepth).toBe(0);
    }
  });

  it("embeds, adapts, reranks and classifies exactly as the runtime does", async () => {
    const e = await srv.client.embed({ model: "emb", texts: TEXTS });
    const want = await direct["emb"]!.embed(TEXTS);
    expect(e).toMatchObject({ model: "emb", version: "1.10.0", dimensions: 32 });
    expectClose(floats(e.vectors), want.vectors);
    expect(e.tokenCounts).toEqual([...want.tokenCounts]);

    const a = await srv.client.embed({ model: "adp", texts: TEXTS });
    expectClose(floats(a.vectors), (await direct["adp"]!.embed(TEXTS)).vectors);

    const passages = [...TEXTS, "coffee"];
    const r = await srv.client.rerank({ model: "rr", query: QUERY, passages });
    expectClose(r.scores, await direct["rr"]!.rerank(QUERY, passages));

    const c = await srv.client.classify({ model: "cls", texts: TEXTS });
    const wantC = await direct["cls"]!.classify(TEXTS);
    expect(c.results.map((x) => x.labels.map((l) => l.label))).toEqual(
      wantC.map((x) => x.map((l) => l.label)),
    );
    expectClose(
      c.results.flatMap((x) => x.labels.map((l) => l.score)),
      wantC.flatMap((x) => x.map((l) => l.score)),
    );
  });

  it("merges concurrent rerank callers into shared batches without changing scores", async () => {
    const queries = [QUERY, QUERY, "tea in the morning"];
    const got = await Promise.all(
      queries.map((q) => srv.client.rerank({ model: "rr", query: q, passages: TEXTS })),
    );
    for (const [i, q] of queries.entries())
      expectClose(got[i]!.scores, await direct["rr"]!.rerank(q, TEXTS));
  });

  it("tokenizes texts and pairs with the model's tokenizer", async () => {
    const t = await srv.client.tokenize({
      model: "rr",
      texts: ["the dog", "coffee"],
      textPairs: ["likes tea", "bread"],
      addSpecialTokens: true,
    });
    const want = direct["rr"]!.tokenize(["the dog", "coffee"], { pairs: ["likes tea", "bread"] });
    expect(t.results.map((r) => ({ ids: r.ids, tokens: r.tokens }))).toEqual(want);
    expect(t.results[0]!.tokens[0]).toBe("[CLS]");
    const plain = await srv.client.tokenize({ model: "emb", texts: ["the dog"] });
    expect(plain.results[0]!.tokens).not.toContain("[CLS]");
  });

  it("serves the Connect protocol on the same port", async () => {
    const connect = createClient(
      ModelService,
      createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "2" }),
    );
    const e = await connect.embed({ model: "emb", texts: ["cat"] });
    expectClose(floats(e.vectors), (await direct["emb"]!.embed(["cat"])).vectors);
  });

  it("answers NOT_FOUND, FAILED_PRECONDITION and INVALID_ARGUMENT naming what is wrong", async () => {
    const unknown = await failure(srv.client.embed({ model: "nope", texts: ["x"] }));
    expect(unknown.code).toBe(Code.NotFound);
    const version = await failure(srv.client.embed({ model: "emb", version: "9", texts: ["x"] }));
    expect(version.code).toBe(Code.NotFound);
    const noDefault = await failure(srv.client.embed({ texts: ["x"] }));
    expect(noDefault.code).toBe(Code.NotFound);

    const kind = await failure(srv.client.rerank({ model: "emb", query: "q", passages: ["p"] }));
    expect(kind.code).toBe(Code.FailedPrecondition);
    expect(kind.rawMessage).toContain("embedder");

    const cases: [Promise<unknown>, string][] = [
      [srv.client.embed({ model: "emb", texts: [] }), "texts"],
      [srv.client.rerank({ model: "rr", query: QUERY, passages: [] }), "passages"],
      [srv.client.rerank({ model: "rr", query: "", passages: ["p"] }), "query"],
      [srv.client.classify({ model: "cls", texts: [] }), "texts"],
      [srv.client.tokenize({ model: "rr", texts: ["a", "b"], textPairs: ["c"] }), "text_pairs"],
      [srv.client.loadModel({ name: "../etc" }), "name"],
    ];
    for (const [call, field] of cases) {
      const err = await failure(call);
      expect(err.code, field).toBe(Code.InvalidArgument);
      expect(err.rawMessage.startsWith(`${field}:`), err.rawMessage).toBe(true);
    }
  });

  it("refuses unloadable artifacts with a message naming the file, and unknown ones", async () => {
    const missing = await failure(srv.client.loadModel({ name: "broken" }));
    expect(missing.code).toBe(Code.FailedPrecondition);
    expect(missing.rawMessage).toContain("tokenizer.json");
    expect(missing.rawMessage).not.toContain(root);

    const tampered = await failure(srv.client.loadModel({ name: "tampered" }));
    expect(tampered.code).toBe(Code.FailedPrecondition);
    expect(tampered.rawMessage).toContain("config.json");
    expect(tampered.rawMessage).toContain("sha256");

    expect((await failure(srv.client.loadModel({ name: "ghost" }))).code).toBe(Code.NotFound);
    const v = await failure(srv.client.loadModel({ name: "emb", version: "7" }));
    expect(v.code).toBe(Code.NotFound);
    const { models } = await srv.client.listModels({});
    expect(models.map((m) => m.name)).not.toContain("broken");
  });

  it("unloads adapters before their base; calls after an unload get NOT_FOUND", async () => {
    const inUse = await failure(srv.client.unloadModel({ name: "emb" }));
    expect(inUse.code).toBe(Code.FailedPrecondition);
    expect(inUse.rawMessage).toContain("adp@1");

    // Calls queued before the unload still complete.
    const queued = srv.client.embed({ model: "adp", texts: TEXTS });
    await srv.client.unloadModel({ name: "adp" });
    expect((await queued).vectors.byteLength).toBe(TEXTS.length * 32 * 4);
    const gone = await failure(srv.client.embed({ model: "adp", texts: ["x"] }));
    expect(gone.code).toBe(Code.NotFound);

    await srv.client.unloadModel({ name: "emb", version: "1.10.0" });
    expect((await failure(srv.client.embed({ model: "emb", texts: ["x"] }))).code).toBe(
      Code.NotFound,
    );
    const twice = await failure(srv.client.unloadModel({ name: "emb" }));
    expect(twice.code).toBe(Code.NotFound);
    const { models } = await srv.client.listModels({});
    expect(models.map((m) => m.name).sort()).toEqual(["cls", "rr"]);
  });
});
