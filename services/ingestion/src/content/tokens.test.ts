import { describe, expect, it } from "vitest";
import { countTokens, splitSentences } from "./tokens.js";

describe("countTokens", () => {
  it("charges words by length and punctuation per character", () => {
    expect(countTokens("")).toBe(0);
    expect(countTokens("   \n\t")).toBe(0);
    expect(countTokens("a")).toBe(1);
    expect(countTokens("word")).toBe(1);
    expect(countTokens("words")).toBe(2);
    expect(countTokens("internationalization")).toBe(5);
    expect(countTokens("Hello, world!")).toBe(6);
    expect(countTokens("3.14")).toBe(3);
    expect(countTokens("a--b")).toBe(4);
  });

  it("handles non-ASCII letters, CJK and emoji", () => {
    expect(countTokens("café")).toBe(1);
    expect(countTokens("naïveté")).toBe(2);
    expect(countTokens("日本語")).toBe(3);
    expect(countTokens("🙂🙂")).toBe(2);
  });

  it("is additive across whitespace", () => {
    const parts = ["The quick brown fox.", "It jumped — twice!", "e.g. 3.14159", "日本"];
    const sum = parts.reduce((n, p) => n + countTokens(p), 0);
    expect(countTokens(parts.join(" "))).toBe(sum);
    expect(countTokens(parts.join("\n\n"))).toBe(sum);
  });
});

describe("splitSentences", () => {
  it("splits plain sentences", () => {
    expect(splitSentences("One. Two! Three? Four")).toEqual(["One.", "Two!", "Three?", "Four"]);
  });

  it("does not split after abbreviations, initials or inside decimals", () => {
    expect(splitSentences("Dr. Smith met Mr. Jones at 3.30 p.m. yesterday. It rained.")).toEqual([
      "Dr. Smith met Mr. Jones at 3.30 p.m. yesterday.",
      "It rained.",
    ]);
    expect(splitSentences("Use fruit, e.g. Apples, i.e. Red ones. Then eat.")).toEqual([
      "Use fruit, e.g. Apples, i.e. Red ones.",
      "Then eat.",
    ]);
    expect(splitSentences("Pi is 3.14. See Fig. 2 for J. R. R. Tolkien.")).toEqual([
      "Pi is 3.14.",
      "See Fig. 2 for J. R. R. Tolkien.",
    ]);
    expect(splitSentences("Visit example.com now. Ok")).toEqual(["Visit example.com now.", "Ok"]);
  });

  it("keeps closing quotes and brackets with their sentence", () => {
    expect(splitSentences('He said "Stop." Then he left. (It was late.) Fine.')).toEqual([
      'He said "Stop."',
      "Then he left.",
      "(It was late.)",
      "Fine.",
    ]);
    expect(splitSentences('"Why?" she asked. "Because!" He shrugged.')).toEqual([
      '"Why?" she asked.',
      '"Because!"',
      "He shrugged.",
    ]);
  });

  it("treats ellipses as boundaries only before a capital", () => {
    expect(splitSentences("Wait... what happened... Nothing. Well… Maybe")).toEqual([
      "Wait... what happened...",
      "Nothing.",
      "Well…",
      "Maybe",
    ]);
  });

  it("breaks on blank lines but not single line breaks", () => {
    expect(splitSentences("first line\ncontinues here\n\nnew para")).toEqual([
      "first line\ncontinues here",
      "new para",
    ]);
  });

  it("keeps enumerators and number abbreviations attached", () => {
    expect(splitSentences("1. First step. 2. Second step.")).toEqual([
      "1. First step.",
      "2. Second step.",
    ]);
    expect(splitSentences("See No. 5 please. I said no. Then left.")).toEqual([
      "See No. 5 please.",
      "I said no.",
      "Then left.",
    ]);
  });

  it("returns nothing for blank input and never loses text", () => {
    expect(splitSentences("  \n ")).toEqual([]);
    const text = "A b. C d? E f! G... h. I.";
    expect(splitSentences(text).join(" ")).toBe(text);
  });
});
