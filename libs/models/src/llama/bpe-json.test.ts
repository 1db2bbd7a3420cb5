import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BPE_BOS_ID,
  BPE_EOS_ID,
  buildByteLevelBpe,
  byteLevelBpeTokenizerConfig,
  bytesToUnicode,
} from "./bpe-json.js";
import { writeLlamaFolder } from "./write-llama-folder.js";

describe("byte-level BPE tokenizer.json", () => {
  const bpe = buildByteLevelBpe();
  const tokenizer = new Tokenizer(bpe.tokenizerJson, byteLevelBpeTokenizerConfig(256));

  it("learns merges up to a few hundred tokens", () => {
    expect(bpe.vocabSize).toBeGreaterThanOrEqual(300);
    expect(bpe.vocabSize).toBeLessThanOrEqual(500);
    expect(new Set(bytesToUnicode()).size).toBe(256);
  });

  it("round-trips ASCII and multi-byte UTF-8 text", () => {
    const texts = [
      "The quick brown fox jumps over the lazy dog.",
      "  leading and  double spaces\tand tabs\nand newlines  ",
      "Café crème, São Paulo, München — déjà vu",
      "日本語のテキスト、こんにちは世界。Привет! 🙂🚀 never-seen: ŋ ǆ 𝄞",
    ];
    for (const text of texts) {
      const { ids } = tokenizer.encode(text);
      expect(ids[0]).toBe(BPE_BOS_ID);
      expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe(text);
    }
  });

  it("applies learned merges, so common words take fewer tokens than bytes", () => {
    const text = "the story of the sea";
    const { ids } = tokenizer.encode(text, { add_special_tokens: false });
    expect(ids.length).toBeLessThan(new TextEncoder().encode(text).length);
  });

  it("accepts a hand-made merge list", () => {
    const hand = buildByteLevelBpe({
      merges: [
        ["h", "e"],
        ["Ġ", "w"],
        ["he", "l"],
      ],
    });
    const tok = new Tokenizer(hand.tokenizerJson, byteLevelBpeTokenizerConfig(64));
    expect(hand.vocabSize).toBe(3 + 256 + 3);
    expect(tok.tokenize("hel wo")).toEqual(["hel", "Ġw", "o"]);
  });
});

describe("writeLlamaFolder", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tailor-llama-folder-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a Hugging Face-shaped folder", async () => {
    const folder = await writeLlamaFolder({
      dir,
      model: {
        layers: 1,
        hidden: 32,
        heads: 4,
        kvHeads: 2,
        intermediate: 64,
        maxPositions: 64,
        ropeTheta: 10000,
        seed: 1,
      },
      maxNewTokens: 32,
    });
    const read = async (name: string) =>
      JSON.parse(await readFile(join(dir, name), "utf8")) as Record<string, unknown>;
    const config = await read("config.json");
    expect(config["architectures"]).toEqual(["LlamaForCausalLM"]);
    expect(config["num_hidden_layers"]).toBe(1);
    expect(config["num_key_value_heads"]).toBe(2);
    expect(config["vocab_size"]).toBe(folder.spec.vocabSize);
    expect(config["eos_token_id"]).toBe(BPE_EOS_ID);
    expect((await read("generation_config.json"))["max_new_tokens"]).toBe(32);
    const tok = new Tokenizer(await read("tokenizer.json"), await read("tokenizer_config.json"));
    expect(tok.decode(tok.encode("hi there").ids, { skip_special_tokens: true })).toBe("hi there");
    expect((await readFile(join(dir, "model.onnx"))).byteLength).toBe(folder.modelBytes);
  });
});
