import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeAdapterFolder, writeModelFolder } from "../testing/write-model-folder.js";
import { detectModelKind, isModelLoadError, loadHfFolder, ModelLoadError } from "./hf-folder.js";

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tailor-hf-folder-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function loadError(dir: string): Promise<ModelLoadError> {
  const err = await loadHfFolder(dir).catch((e: unknown) => e);
  expect(isModelLoadError(err)).toBe(true);
  return err as ModelLoadError;
}

describe("loadHfFolder", () => {
  it("reads an embedder folder with its tokenizer files", async () => {
    const dir = join(root, "embedder");
    await writeModelFolder(dir, { kind: "embedder", pooling: "cls", normalize: false });
    const folder = await loadHfFolder(dir);
    expect(folder.kind).toBe("embedder");
    expect(folder.name).toBe("embedder");
    expect(folder.pooling).toBe("cls");
    expect(folder.normalize).toBe(false);
    expect(folder.config.hidden_size).toBe(32);
    expect(folder.tokenizerConfig.model_max_length).toBe(64);
    expect(folder.tokenizerJson).toBeDefined();
    expect(folder.modelBytes).toBeGreaterThan(0);
  });

  it("reads sentence-transformers pooling and defaults to mean + normalise", async () => {
    const st = join(root, "st");
    await writeModelFolder(st, {
      kind: "embedder",
      pooling: "last",
      poolingStyle: "sentence-transformers",
    });
    expect((await loadHfFolder(st)).pooling).toBe("last");
    const plain = join(root, "plain");
    await writeModelFolder(plain, { kind: "embedder" });
    const folder = await loadHfFolder(plain);
    expect(folder.pooling).toBe("mean");
    expect(folder.normalize).toBe(true);
  });

  it("reads classifier labels and the multi-label problem type", async () => {
    const dir = join(root, "classifier");
    await writeModelFolder(dir, { kind: "classifier", labels: ["a", "b", "c"], multiLabel: true });
    const folder = await loadHfFolder(dir);
    expect(folder.kind).toBe("classifier");
    expect(folder.labels).toEqual(["a", "b", "c"]);
    expect(folder.multiLabel).toBe(true);
  });

  it("loads an adapter folder without a tokenizer", async () => {
    const dir = join(root, "adapter");
    await writeAdapterFolder(dir, { base: "embedder", dimensions: 32 });
    const folder = await loadHfFolder(dir);
    expect(folder.kind).toBe("adapter");
    expect(folder.config.base).toBe("embedder");
    expect(folder.tokenizerJson).toBeUndefined();
  });

  it.each(["tokenizer.json", "model.onnx", "config.json"])(
    "throws ModelLoadError naming a missing %s and the folder",
    async (file) => {
      const dir = join(root, `missing-${file}`);
      await writeModelFolder(dir, { kind: "embedder" });
      await rm(join(dir, file));
      const err = await loadError(dir);
      expect(err.name).toBe("ModelLoadError");
      expect(err.code).toBe("model_load_failed");
      expect(err.message).toContain(file);
      expect(err.message).toContain(dir);
    },
  );

  it("rejects invalid JSON and invalid fields, naming the file", async () => {
    const dir = join(root, "bad");
    await writeModelFolder(dir, { kind: "embedder" });
    await writeFile(join(dir, "tokenizer_config.json"), "{ not json");
    expect((await loadError(dir)).message).toContain("tokenizer_config.json");
    await writeFile(join(dir, "tokenizer_config.json"), "{}");
    await writeFile(join(dir, "config.json"), JSON.stringify({ hidden_size: "big" }));
    const err = await loadError(dir);
    expect(err.message).toContain("config.json");
    expect(err.message).toContain("hidden_size");
  });

  it("rejects an unsupported sentence-transformers pooling mode", async () => {
    const dir = join(root, "max-pool");
    await writeModelFolder(dir, { kind: "embedder" });
    await mkdir(join(dir, "1_Pooling"));
    await writeFile(
      join(dir, "1_Pooling", "config.json"),
      JSON.stringify({ pooling_mode_max_tokens: true }),
    );
    expect((await loadError(dir)).message).toContain("pooling");
  });
});

describe("detectModelKind", () => {
  it.each([
    [{ architectures: ["BertModel"] }, "embedder"],
    [{ architectures: ["XLMRobertaModel"] }, "embedder"],
    [{}, "embedder"],
    [
      { architectures: ["BertForSequenceClassification"], id2label: { "0": "LABEL_0" } },
      "reranker",
    ],
    [{ architectures: ["BertForSequenceClassification"], num_labels: 1 }, "reranker"],
    [
      { architectures: ["BertForSequenceClassification"], id2label: { "0": "neg", "1": "pos" } },
      "classifier",
    ],
    // transformers defaults to two labels when the config names none.
    [{ architectures: ["BertForSequenceClassification"] }, "classifier"],
    [{ architectures: ["LlamaForCausalLM"] }, "causal-lm"],
    [{ architectures: ["BertModel"], tailor_kind: "adapter" as const }, "adapter"],
  ])("%j is a %s", (config, kind) => {
    expect(detectModelKind(config)).toBe(kind);
  });

  it("rejects other architectures", () => {
    expect(() => detectModelKind({ architectures: ["BertForMaskedLM"] })).toThrow(ModelLoadError);
  });
});
