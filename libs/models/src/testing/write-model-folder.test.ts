import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadHfFolder } from "../hf/hf-folder.js";
import { HfTokenizer } from "../hf/hf-tokenizer.js";
import { writeAdapterFolder, writeModelFolder } from "./write-model-folder.js";

const { onnx } = onnxProto;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tailor-write-folder-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("writeModelFolder", () => {
  it.each(["embedder", "reranker", "classifier"] as const)(
    "writes a loadable %s folder",
    async (kind) => {
      const dir = join(root, kind);
      const written = await writeModelFolder(dir, { kind });
      const folder = await loadHfFolder(dir);
      expect(folder.kind).toBe(kind);
      expect(folder.config.vocab_size).toBe(written.tokenizer.vocabSize);
      const tokenizer = HfTokenizer.fromFolder(folder);
      expect(tokenizer.vocabSize).toBe(written.tokenizer.vocabSize);
      expect(tokenizer.padId).toBe(written.tokenizer.padId);
      expect(tokenizer.maxLength).toBe(written.model.shape.maxPositions);
      const onDisk = await readFile(join(dir, "model.onnx"));
      expect(onDisk.equals(Buffer.from(written.model.bytes))).toBe(true);
    },
  );

  it("pads the vocabulary and embedding table to a requested size", async () => {
    const written = await writeModelFolder(join(root, "padded"), {
      kind: "embedder",
      vocabSize: 1000,
    });
    expect(written.tokenizer.vocabSize).toBe(1000);
    expect(written.model.weights.word).toHaveLength(1000 * 32);
  });
});

describe("writeAdapterFolder", () => {
  it("writes a D×D linear adapter graph", async () => {
    const dir = join(root, "adapter");
    const { weight, bias } = await writeAdapterFolder(dir, { base: "emb", dimensions: 8 });
    expect(weight).toHaveLength(64);
    expect(bias).toHaveLength(8);
    const graph = onnx.ModelProto.decode(await readFile(join(dir, "model.onnx"))).graph!;
    expect((graph.input ?? []).map((i) => i.name)).toEqual(["embeddings"]);
    expect((graph.output ?? []).map((o) => o.name)).toEqual(["adapted"]);
    const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    expect(config).toEqual({ tailor_kind: "adapter", base: "emb", dimensions: 8 });
  });
});
