import { describe, expect, it } from "vitest";
import { checkQuestion, checkSources, RETRIEVAL_QUERY_BYTES, retrievalQuery } from "./fields.js";

const limits = { maxQuestionChars: 100, maxK: 50, defaultK: 5 };

describe("fields", () => {
  it("names the question's problem without quoting it", () => {
    expect(() => checkQuestion("question", "", limits)).toThrow(/^question: is required$/);
    expect(() => checkQuestion("question", "x".repeat(101), limits)).toThrow(
      /^question: is 101 characters, over the limit of 100$/,
    );
    expect(() => checkQuestion("question", "secret\u0000", limits)).toThrow(/NUL/);
    expect(() => checkQuestion("question", "secret\ud800", limits)).toThrow(/surrogate/);
    expect(() => checkQuestion("question", "secret\u0007", limits)).not.toThrow(/secret/);
    expect(checkQuestion("question", "line\nbreak", limits)).toBe("line\nbreak");
  });

  it("takes sources as subject tokens", () => {
    expect(() => checkSources(["ok_source-1"])).not.toThrow();
    expect(() => checkSources(["a.b"])).toThrow(/^sources\[0\]: /);
  });

  it("cuts a long question for retrieval at a character boundary within its byte limit", () => {
    const q = `${"é".repeat(RETRIEVAL_QUERY_BYTES)}`;
    const cut = retrievalQuery(q);
    expect(Buffer.byteLength(cut, "utf8")).toBe(RETRIEVAL_QUERY_BYTES);
    const emoji = "😀".repeat(2000);
    const e = retrievalQuery(emoji);
    expect(Buffer.byteLength(e, "utf8")).toBeLessThanOrEqual(RETRIEVAL_QUERY_BYTES);
    expect(e.length % 2).toBe(0);
    expect(retrievalQuery("short")).toBe("short");
  });
});
