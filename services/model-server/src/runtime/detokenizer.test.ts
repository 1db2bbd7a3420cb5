import { Tokenizer } from "@huggingface/tokenizers";
import { buildByteLevelBpe, byteLevelBpeTokenizerConfig } from "@tailor/models/testing";
import { describe, expect, it } from "vitest";
import { detokenizerFactory } from "./detokenizer.js";

const bpe = buildByteLevelBpe();
const tokenizer = new Tokenizer(bpe.tokenizerJson, byteLevelBpeTokenizerConfig(256));
const TEXT = "Grüße, 日本語 and 🙂🚀 — naïve café!";

function stream(kind: string | undefined, ids: number[]): string[] {
  const detok = detokenizerFactory(tokenizer, kind)();
  const deltas = ids.map((id) => detok.push(id));
  deltas.push(detok.flush());
  return deltas;
}

describe.each([
  ["ByteLevel", "ByteLevel"],
  ["window re-decode", undefined],
])("%s detokenizer", (_name, kind) => {
  it("never splits a multi-byte character across deltas", () => {
    const ids = tokenizer.encode(TEXT).ids;
    // Several characters need more than one token, or the test would prove nothing.
    expect(ids.length).toBeGreaterThan(Array.from(TEXT).length / 2);
    const deltas = stream(kind, ids);
    for (const d of deltas) expect(d).not.toContain("\uFFFD");
    expect(deltas.join("")).toBe(TEXT);
    expect(deltas.filter((d) => d === "").length).toBeGreaterThan(1);
  });

  it("drops the bytes of a character left unfinished at the end", () => {
    const ids = tokenizer.encode("ok 🙂", { add_special_tokens: false }).ids;
    const deltas = stream(kind, ids.slice(0, -1));
    expect(deltas.join("")).toBe("ok ");
  });
});
