import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalArtifactStore, publishArtifact } from "@tailor/artifacts";
import { loadHfFolder } from "@tailor/models/hf-folder";
import { mulberry32 } from "@tailor/models/random";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdapterSpec, applyAdapter, parameterLayout } from "./adapter.js";
import { ADAPTER_OUTPUT, writeAdapterModelFolder } from "./onnx-export.js";

const D = 16;
const ROWS = 7;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tailor-train-onnx-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** What the model-server's adapter runtime does: run the graph on base vectors, then L2-normalise. */
async function runLikeModelServer(dir: string, input: Float32Array): Promise<Float32Array> {
  const folder = await loadHfFolder(dir);
  expect(folder.kind).toBe("adapter");
  expect(folder.config.dimensions).toBe(D);
  expect(folder.normalize).toBe(true);
  const session = await ort.InferenceSession.create(folder.modelPath, { intraOpNumThreads: 1 });
  try {
    expect(session.outputNames).toContain(ADAPTER_OUTPUT);
    const feed = new ort.Tensor("float32", input, [ROWS, D]);
    const out = await session.run({ [session.inputNames[0]!]: feed });
    const data = out[ADAPTER_OUTPUT]!.data as Float32Array;
    const vectors = Float32Array.from(data);
    for (let r = 0; r < ROWS; r++) {
      const row = vectors.subarray(r * D, (r + 1) * D);
      const norm = Math.hypot(...row);
      for (let j = 0; j < D; j++) row[j] = row[j]! / norm;
    }
    return vectors;
  } finally {
    await session.release();
  }
}

const SPECS: [string, AdapterSpec][] = [
  ["linear", { dims: D, architecture: { kind: "linear" } }],
  [
    "residual relu",
    { dims: D, architecture: { kind: "residual", hidden: 12, activation: "relu" } },
  ],
  [
    "residual gelu",
    { dims: D, architecture: { kind: "residual", hidden: 12, activation: "gelu" } },
  ],
];

describe("writeAdapterModelFolder", () => {
  for (const [label, spec] of SPECS) {
    it(`exports a ${label} adapter that onnxruntime runs like the TypeScript forward pass`, async () => {
      const rng = mulberry32(label.length);
      const params = Float32Array.from(
        { length: parameterLayout(spec).size },
        () => (rng() - 0.5) * 0.6,
      );
      if (spec.architecture.kind === "linear")
        for (let i = 0; i < D; i++) params[i * D + i] = params[i * D + i]! + 1;
      const dir = join(root, label.replace(" ", "-"));
      await writeAdapterModelFolder(dir, { spec, params, base: "tiny-embedder", name: "adapter" });
      const input = Float32Array.from({ length: ROWS * D }, () => rng() * 2 - 1);
      const expected = applyAdapter(spec, params, input);
      const actual = await runLikeModelServer(dir, input);
      let worst = 0;
      for (let i = 0; i < expected.length; i++)
        worst = Math.max(worst, Math.abs(expected[i]! - actual[i]!));
      expect(expected.length).toBe(ROWS * D);
      expect(worst).toBeLessThan(1e-5);
    });
  }

  it("writes a folder that publishArtifact accepts and the store resolves as an adapter", async () => {
    const spec = SPECS[0]![1];
    const params = new Float32Array(parameterLayout(spec).size);
    for (let i = 0; i < D; i++) params[i * D + i] = 1;
    const dir = join(root, "to-publish");
    await writeAdapterModelFolder(dir, {
      spec,
      params,
      base: "tiny-embedder",
      training: { seed: 1, steps: 0 },
    });
    const store = join(root, "store");
    const manifest = await publishArtifact(dir, "tenant-adapter", "1", { root: store });
    expect(manifest.kind).toBe("adapter");
    expect(Object.keys(manifest.files)).toEqual(["config.json", "model.onnx"]);
    const artifact = await new LocalArtifactStore(store).resolve("tenant-adapter", "1");
    expect(artifact.kind).toBe("adapter");
    const folder = await loadHfFolder(artifact.dir);
    expect(folder.config.base).toBe("tiny-embedder");
  });
});
