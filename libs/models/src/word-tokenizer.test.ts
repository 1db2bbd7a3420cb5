import { describe, expect, it } from "vitest";
import { countTokens, PAD_ID, padBatch, UNK_ID, WordTokenizer } from "./word-tokenizer.js";

// Mirrors the real vocabulary's quirks: no apostrophes, no pure numbers, Treebank halves "ca"/"wo",
// some hyphenated compounds, apostrophe-less names.
const VOCAB = [
  "[PAD]",
  "[UNK]",
  "the",
  "cat",
  "sat",
  "do",
  "not",
  "can",
  "will",
  "it",
  "are",
  "they",
  "well-known",
  "well",
  "known",
  "state",
  "of",
  "art",
  "cafe",
  "naive",
  "obrien",
  "g8",
  ",",
  ".",
  "ca",
];
const tok = new WordTokenizer(VOCAB);
const id = (w: string) => VOCAB.indexOf(w);
const ids = (text: string, max = 64) => Array.from(tok.encode(text, max));

describe("WordTokenizer", () => {
  it("lowercases and drops punctuation even though the vocabulary holds punctuation vectors", () => {
    expect(ids("The CAT, sat.")).toEqual([id("the"), id("cat"), id("sat")]);
  });

  it("keeps unknown words in place as UNK_ID", () => {
    expect(ids("the dog sat")).toEqual([id("the"), UNK_ID, id("sat")]);
    expect(ids("1990 2024")).toEqual([UNK_ID, UNK_ID]);
  });

  it("expands contractions into the words that carry their meaning", () => {
    expect(ids("don't")).toEqual([id("do"), id("not")]);
    expect(ids("can't")).toEqual([id("can"), id("not")]);
    expect(ids("won\u2019t")).toEqual([id("will"), id("not")]);
    expect(ids("it's they're")).toEqual([id("it"), id("they"), id("are")]);
    expect(ids("O'Brien")).toEqual([id("obrien")]);
  });

  it("uses a hyphenated compound when the vocabulary has it and splits it otherwise", () => {
    expect(ids("well-known")).toEqual([id("well-known")]);
    expect(ids("state-of-the-art")).toEqual([id("state"), id("of"), id("the"), id("art")]);
  });

  it("folds accents and keeps alphanumeric words whole", () => {
    expect(ids("Café naïve G8")).toEqual([id("cafe"), id("naive"), id("g8")]);
    expect(ids("Cafe\u0301")).toEqual([id("cafe")]);
  });

  it("truncates at maxTokens, also inside an expansion", () => {
    expect(ids("the cat sat the cat", 2)).toEqual([id("the"), id("cat")]);
    expect(ids("the don't", 2)).toEqual([id("the"), id("do")]);
    expect(ids("the cat", 0)).toEqual([]);
  });

  it("never returns an id for the reserved tokens", () => {
    expect(ids("[PAD] [UNK] pad unk")).toEqual([UNK_ID, UNK_ID, UNK_ID, UNK_ID]);
    expect(tok.idOf("[PAD]")).toBe(UNK_ID);
  });

  it("grows its scratch buffer for long texts", () => {
    const long = Array.from({ length: 2000 }, () => "cat").join(" ");
    const out = tok.encode(long, 5000);
    expect(out.length).toBe(2000);
    expect(out.every((v) => v === id("cat"))).toBe(true);
  });

  it("pads a batch to its longest text and masks padding and unknown words", () => {
    const b = tok.encodeBatch(["the cat", "the dog sat", ""], 64);
    expect(b.batch).toBe(3);
    expect(b.seqLen).toBe(3);
    expect(Array.from(b.lengths)).toEqual([2, 3, 0]);
    expect(Array.from(b.ids, Number)).toEqual([
      id("the"),
      id("cat"),
      PAD_ID,
      id("the"),
      UNK_ID,
      id("sat"),
      PAD_ID,
      PAD_ID,
      PAD_ID,
    ]);
    expect(Array.from(b.mask)).toEqual([1, 1, 0, 1, 0, 1, 0, 0, 0]);
  });

  it("keeps a width of 1 for an all-empty batch so tensor shapes stay valid", () => {
    const b = padBatch([new Int32Array(0), new Int32Array(0)]);
    expect(b.seqLen).toBe(1);
    expect(Array.from(b.mask)).toEqual([0, 0]);
  });

  it("reads vocab.txt with line i as id i", () => {
    const t = WordTokenizer.fromVocabText("[PAD]\n[UNK]\nhello\nworld\n");
    expect(t.vocabSize).toBe(4);
    expect(Array.from(t.encode("Hello, world!", 8))).toEqual([2, 3]);
  });
});

describe("countTokens", () => {
  it("counts words without looking them up", () => {
    expect(countTokens("")).toBe(0);
    expect(countTokens("The cat, sat. 1990!")).toBe(4);
    expect(countTokens("don't well-known")).toBe(2);
  });
});
