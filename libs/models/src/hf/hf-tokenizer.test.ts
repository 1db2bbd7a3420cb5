import { describe, expect, it } from "vitest";
import { HfTokenizer, longestFirst } from "./hf-tokenizer.js";
import { buildWordPieceTokenizerJson, wordPieceTokenizerConfig } from "./wordpiece-json.js";

const built = buildWordPieceTokenizerJson();
const tokenizer = (maxLength = 64, modelConfig = {}) =>
  HfTokenizer.create(built.json, wordPieceTokenizerConfig(maxLength), modelConfig);

describe("HfTokenizer over a generated tokenizer.json", () => {
  it("round-trips text to its normalised form", () => {
    const t = tokenizer();
    const { ids, tokens } = t.encode("The CATS were running, fast!");
    expect(tokens[0]).toBe("[CLS]");
    expect(tokens.at(-1)).toBe("[SEP]");
    expect(tokens).toContain("##ing");
    expect(ids[0]).toBe(built.clsId);
    expect(t.decode(ids)).toBe("the cats were running, fast!");
    expect(t.decode(ids, { skipSpecialTokens: false })).toMatch(/^\[CLS\] the cats/);
  });

  it("encodes pairs as [CLS] a [SEP] b [SEP] with token types 0 then 1", () => {
    const row = tokenizer().encodeRow("what is a cat", "the dog");
    const sep = built.sepId;
    const v = built.vocab;
    expect(Array.from(row.ids)).toEqual([
      built.clsId,
      v.get("what"),
      v.get("is"),
      v.get("a"),
      v.get("cat"),
      sep,
      v.get("the"),
      v.get("dog"),
      sep,
    ]);
    expect(Array.from(row.typeIds)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1]);
  });

  it("maps unknown characters to [UNK]", () => {
    expect(tokenizer().encode("cat ☃").tokens).toEqual(["[CLS]", "cat", "[UNK]", "[SEP]"]);
  });

  it("pads batches to the longest row with the pad id and a zero mask", () => {
    const batch = tokenizer().encodeBatch(["cat", "the dog is happy"], { pairs: ["dog", "yes"] });
    expect(batch.batch).toBe(2);
    expect(batch.seqLen).toBe(8);
    expect(Array.from(batch.lengths)).toEqual([5, 8]);
    expect(batch.inputIds).toHaveLength(16);
    expect(batch.inputIds[5]).toBe(BigInt(built.padId));
    expect(Array.from(batch.attentionMask.subarray(0, 8), Number)).toEqual([
      1, 1, 1, 1, 1, 0, 0, 0,
    ]);
    expect(Array.from(batch.tokenTypeIds.subarray(0, 8), Number)).toEqual([0, 0, 0, 1, 1, 0, 0, 0]);
  });

  it("truncates a single text to maxLength, keeping the special tokens", () => {
    const t = tokenizer(6);
    expect(t.maxLength).toBe(6);
    const { tokens } = t.encode("the cat and the dog eat bread");
    expect(tokens).toEqual(["[CLS]", "the", "cat", "and", "the", "[SEP]"]);
    // A per-call limit may only tighten the tokenizer's own.
    const batch = t.encodeBatch(["the cat and the dog"], { maxLength: 4 });
    expect(batch.seqLen).toBe(4);
    expect(t.encodeBatch(["the cat and the dog"], { maxLength: 100 }).seqLen).toBe(6);
  });

  it("truncates pairs longest-first", () => {
    const t = tokenizer(9);
    const long = "the cat and the dog eat bread";
    // Budget 6: the short query keeps its 2 tokens, the passage gets the remaining 4.
    expect(t.encode("a cat", { pair: long }).tokens).toEqual([
      "[CLS]",
      "a",
      "cat",
      "[SEP]",
      "the",
      "cat",
      "and",
      "the",
      "[SEP]",
    ]);
    // Both over half: 3 and 3.
    expect(t.encode(long, { pair: long }).tokens).toHaveLength(9);
    expect(longestFirst(10, 10, 7)).toEqual([4, 3]);
    expect(longestFirst(2, 10, 7)).toEqual([2, 5]);
    expect(longestFirst(10, 1, 7)).toEqual([6, 1]);
    expect(longestFirst(3, 3, 7)).toEqual([3, 3]);
  });

  it("takes the limit from max_position_embeddings when the tokenizer sets none", () => {
    const t = HfTokenizer.create(
      built.json,
      { model_max_length: 1e30 },
      { max_position_embeddings: 12 },
    );
    expect(t.maxLength).toBe(12);
    expect(HfTokenizer.create(built.json, {}, {}).maxLength).toBe(512);
    expect(tokenizer(64, { max_position_embeddings: 16 }).maxLength).toBe(16);
  });

  it("can leave special tokens out", () => {
    expect(tokenizer().encode("the cat", { addSpecialTokens: false }).tokens).toEqual([
      "the",
      "cat",
    ]);
  });
});
