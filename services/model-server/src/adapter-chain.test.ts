import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { publishArtifact } from "@tailor/artifacts";
import { buildGloveModel, GLOVE_MODEL_NAME, mulberry32 } from "@tailor/models";
import { type AdapterSpec, writeAdapterModelFolder } from "@tailor/train";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./test-server.js";

const D = 6;
// A stand-in for the wink vectors (dims, then norm, then index), so the built-in embedder loads
// in milliseconds; it is served under the real name and version, as the adapter's base.
const WORDS = ["the", "cat", "dog", "coffee", "tea", "vector", "morning", "drink"];
const rng = mulberry32(7);
const SOURCE = {
  dimensions: D,
  words: WORDS,
  vectors: Object.fromEntries(
    WORDS.map((w, i) => [w, [...Array.from({ length: D }, () => rng() * 2 - 1), 1, i]]),
  ),
};
const TEXTS = ["the cat", "dog drink coffee in the morning", "", "unknown words only", "tea"];

let root: string;
let srv: TestServer;
let base: string;

function floats(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.slice().buffer);
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(tol);
}

/** What the adapter must produce, written out plainly: `normalise(f(x))` per row, in float64. */
function reference(x: Float32Array, f: (row: number[]) => number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / D; r++) {
    const z = f(Array.from(x.subarray(r * D, (r + 1) * D)));
    const norm = Math.hypot(...z);
    z.forEach((v, j) => {
      out[r * D + j] = norm > 1e-12 ? v / norm : v;
    });
  }
  return out;
}

const matVec = (row: number[], w: Float32Array, cols: number) =>
  Array.from({ length: cols }, (_, j) => row.reduce((s, v, i) => s + v * w[i * cols + j]!, 0));

async function publishAdapter(
  name: string,
  spec: AdapterSpec,
  params: Float32Array,
  baseRef: string,
): Promise<void> {
  const dir = join(root, "src", name);
  await writeAdapterModelFolder(dir, { spec, params, base: baseRef, name });
  await publishArtifact(dir, name, "1", { root: join(root, "models") });
}

const randomParams = (n: number, seed: number, scale = 0.5) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tailor-adapter-chain-"));
  const files = await buildGloveModel({ outDir: join(root, "models"), source: SOURCE });
  base = `${GLOVE_MODEL_NAME}@${files.config.version}`;
  const linear: AdapterSpec = { dims: D, architecture: { kind: "linear" } };
  const identity = new Float32Array(D * D + D);
  for (let i = 0; i < D; i++) identity[i * D + i] = 1;
  await publishAdapter("ident", linear, identity, base);
  await publishAdapter("rand", linear, randomParams(D * D + D, 11), base);
  const residual: AdapterSpec = {
    dims: D,
    architecture: { kind: "residual", hidden: 4, activation: "relu" },
  };
  await publishAdapter("resid", residual, randomParams(D * 4 + 4 + 4 * D + D, 12), base);
  await publishAdapter("elsewhere", linear, identity, `${GLOVE_MODEL_NAME}@000000000000`);
  srv = await startTestServer(join(root, "models"), {
    TAILOR_MODEL_SERVER_DEFAULT_EMBEDDER: "glove",
  });
});

afterAll(async () => {
  await srv?.handle.destroy();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("adapters chained after the built-in embedder", () => {
  const baseVectors = async () =>
    floats((await srv.client.embed({ model: "", texts: TEXTS })).vectors);

  it("loads an adapter after the base its config pins, lists it and embeds at its exact version", async () => {
    const { model } = await srv.client.loadModel({ name: "ident", version: "1" });
    expect(model).toMatchObject({ name: "ident", version: "1", kind: "adapter", dimensions: D });
    const names = (await srv.client.listModels({})).models.map((m) => `${m.name}@${m.version}`);
    expect(names).toEqual(expect.arrayContaining([base, "ident@1"]));
    const res = await srv.client.embed({ model: "ident", version: "1", texts: TEXTS });
    expect(res).toMatchObject({ model: "ident", version: "1", dimensions: D });
    // The identity adapter after normalised base vectors is the base itself (zero rows stay zero).
    expectClose(floats(res.vectors), await baseVectors());
  });

  it("a random linear adapter yields normalise(base·W + b)", async () => {
    await srv.client.loadModel({ name: "rand", version: "1" });
    const p = randomParams(D * D + D, 11);
    const w = p.subarray(0, D * D);
    const b = p.subarray(D * D);
    const want = reference(await baseVectors(), (x) => matVec(x, w, D).map((v, j) => v + b[j]!));
    const res = await srv.client.embed({ model: "rand", version: "1", texts: TEXTS });
    expectClose(floats(res.vectors), want);
  });

  it("a random residual adapter yields normalise(x + relu(x·W1 + b1)·W2 + b2)", async () => {
    await srv.client.loadModel({ name: "resid", version: "1" });
    const H = 4;
    const p = randomParams(D * H + H + H * D + D, 12);
    const w1 = p.subarray(0, D * H);
    const b1 = p.subarray(D * H, D * H + H);
    const w2 = p.subarray(D * H + H, D * H + H + H * D);
    const b2 = p.subarray(D * H + H + H * D);
    const want = reference(await baseVectors(), (x) => {
      const h = matVec(x, w1, H).map((v, k) => Math.max(0, v + b1[k]!));
      return matVec(h, w2, D).map((v, j) => x[j]! + v + b2[j]!);
    });
    const res = await srv.client.embed({ model: "resid", version: "1", texts: TEXTS });
    expectClose(floats(res.vectors), want);
  });

  it("refuses a base other than the one the adapter was trained after", async () => {
    const pinned = await srv.client
      .loadModel({ name: "elsewhere", version: "1" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(pinned).toBeInstanceOf(ConnectError);
    expect((pinned as ConnectError).code).toBe(Code.FailedPrecondition);
    expect((pinned as ConnectError).rawMessage).toContain(`${GLOVE_MODEL_NAME}@000000000000`);
    // Naming the loaded base explicitly does not override what the adapter was trained after.
    const overridden = await srv.client
      .loadModel({ name: "elsewhere", version: "1", base })
      .catch((e: unknown) => ConnectError.from(e));
    expect((overridden as ConnectError).code).toBe(Code.FailedPrecondition);
    expect((overridden as ConnectError).rawMessage).toContain(
      `trained after ${GLOVE_MODEL_NAME}@000000000000, not ${base}`,
    );
    const names = (await srv.client.listModels({})).models.map((m) => m.name);
    expect(names).not.toContain("elsewhere");
  });

  it("embeds at an exact version only: another version of the adapter is NOT_FOUND", async () => {
    const err = await srv.client
      .embed({ model: "ident", version: "2", texts: ["the cat"] })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.NotFound);
  });
});
