import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { onnx as Onnx } from "onnx-proto";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGloveModel, GLOVE_MODEL_NAME, type WinkEmbeddings } from "./glove-onnx.js";

const { onnx } = onnxProto;

// A three-word stand-in for the 300 MB package, with the same layout (dims, then norm, then index).
const SOURCE: WinkEmbeddings = {
  dimensions: 3,
  words: ["the", "cat", "well-known"],
  vectors: {
    the: [1, 0, 0, 1, 0],
    cat: [0, 2, 0, 2, 1],
    "well-known": [0, 0, 3, 3, 2],
  },
};

let outDir: string;
beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), "tailor-glove-onnx-"));
});
afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

describe("buildGloveModel", () => {
  it("writes model, vocabulary and config, with padding and unknown rows first", async () => {
    const files = await buildGloveModel({ outDir, source: SOURCE });
    expect(files.built).toBe(true);
    expect(files.dir).toBe(join(outDir, GLOVE_MODEL_NAME));
    expect(await readFile(files.vocabPath, "utf8")).toBe("[PAD]\n[UNK]\nthe\ncat\nwell-known\n");
    expect(files.config).toMatchObject({ dimensions: 3, vocabSize: 5, padId: 0, unkId: 1 });
    expect(files.config.version).toMatch(/^[0-9a-f]{12}$/);

    const model = onnx.ModelProto.decode(await readFile(files.modelPath));
    expect(Number(model.irVersion)).toBe(8);
    expect(Number(model.opsetImport[0]?.version)).toBe(17);
    const graph = model.graph as Onnx.GraphProto;
    expect(graph.input.map((i) => i.name)).toEqual(["input_ids", "attention_mask"]);
    expect(graph.output.map((o) => o.name)).toEqual(["sentence_embedding"]);
    const emb = graph.initializer.find((t) => t.name === "embeddings") as Onnx.TensorProto;
    expect(emb.dims.map(Number)).toEqual([5, 3]);
    const raw = emb.rawData;
    const matrix = new Float32Array(
      raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength),
    );
    expect(Array.from(matrix)).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
  });

  it("reuses a matching build without reading the source again", async () => {
    const first = await buildGloveModel({ outDir, source: SOURCE });
    const before = await stat(first.modelPath);
    const poisoned = { dimensions: 3, words: ["x"], vectors: {} } as WinkEmbeddings;
    const again = await buildGloveModel({ outDir, source: poisoned });
    expect(again.built).toBe(false);
    expect(again.config).toEqual(first.config);
    expect((await stat(again.modelPath)).mtimeMs).toBe(before.mtimeMs);
  });

  it("rebuilds when the vocabulary cap changes the version", async () => {
    const full = await buildGloveModel({ outDir, source: SOURCE });
    const capped = await buildGloveModel({ outDir, source: SOURCE, maxVocab: 2 });
    expect(capped.built).toBe(true);
    expect(capped.config.version).not.toBe(full.config.version);
    expect(capped.config.vocabSize).toBe(4);
  });

  it("rejects a source whose vectors are missing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tailor-glove-onnx-bad-"));
    try {
      const bad = { dimensions: 3, words: ["ghost"], vectors: {} } as WinkEmbeddings;
      await expect(buildGloveModel({ outDir: dir, source: bad })).rejects.toThrow(/ghost/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
