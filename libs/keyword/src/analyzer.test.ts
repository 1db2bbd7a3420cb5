import { describe, expect, it } from "vitest";
import { analyze, ENGLISH_STOP_WORDS } from "./analyzer.js";

describe("analyze", () => {
  it("has Lucene's 33 English stop words", () => {
    expect(ENGLISH_STOP_WORDS.size).toBe(33);
  });

  it("lowercases, drops stop words and Porter-stems", () => {
    expect(analyze("The Running of the Bulls is not a CONNECTED event")).toEqual([
      "run",
      "bull",
      "connect",
      "event",
    ]);
  });

  it("splits on non letters/digits, keeps Unicode letters and digits", () => {
    expect(analyze("café-au-lait, naïve/2024 Straße")).toEqual([
      "café",
      "au",
      "lait",
      "naïv",
      "2024",
      "straße",
    ]);
  });

  it("strips the English possessive", () => {
    expect(analyze("John's bikes")).toEqual(["john", "bike"]);
  });
});
