import { FieldError } from "@tailor/service";
import { describe, expect, it } from "vitest";
import {
  bodyProblem,
  checkDocument,
  type DocumentFields,
  type DocumentLimits,
} from "./document-rules.js";

const limits: DocumentLimits = {
  maxTextBytes: 1000,
  maxTitleBytes: 100,
  maxMetadataKeys: 3,
  maxMetadataValueBytes: 20,
  maxMetadataBytes: 50,
};
const good: DocumentFields = {
  id: "doc-1",
  title: "A title",
  text: "Body\ttext\r\nwith\fwhitespace \u000b and é 😀",
  contentType: "",
  metadata: { a: "x\ny" },
};

/** The FieldError `checkDocument` throws, as `field: reason`. */
function refusal(doc: Partial<DocumentFields>, prefix = ""): string {
  try {
    checkDocument({ ...good, ...doc }, limits, prefix);
  } catch (err) {
    expect(err).toBeInstanceOf(FieldError);
    return (err as Error).message;
  }
  throw new Error("accepted");
}

describe("checkDocument: one rule for the bus and the RPC path", () => {
  it("accepts a document with whitespace controls, vertical tab, non-ASCII and emoji", () => {
    expect(() => checkDocument(good, limits)).not.toThrow();
  });

  it.each([
    [{ id: "line1\nline2" }, "id: holds control character U+000A"],
    [{ id: "a\u0000b" }, "id: holds a NUL character at offset 1"],
    [{ id: "x".repeat(8000) }, "id: is 8000 bytes, over the limit of 512"],
    [{ id: "" }, "id: is required"],
    [{ id: "a\ud800" }, "id: holds an unpaired UTF-16 surrogate"],
    [{ title: "t\u0000" }, "title: holds a NUL"],
    [{ title: "t".repeat(101) }, "title: is 101 bytes, over the limit of 100"],
    [{ title: "bell\u0007" }, "title: holds control character U+0007"],
    [{ text: "a\u0000b" }, "text: holds a NUL character at offset 1"],
    [{ text: "ok \udc00" }, "text: holds an unpaired UTF-16 surrogate at offset 3"],
    [{ text: "x".repeat(1001) }, "text: is 1001 bytes, over the limit of 1000"],
    [{ metadata: { k: "v\ud800" } }, 'metadata["k"]: holds an unpaired UTF-16 surrogate'],
    [{ metadata: { k: "v\u0000" } }, 'metadata["k"]: holds a NUL'],
    [{ metadata: { k: "v".repeat(21) } }, 'metadata["k"]: is 21 bytes, over the limit of 20'],
    [{ metadata: { "bad\nkey": "v" } }, "metadata: key 0 holds control character U+000A"],
    [{ metadata: { a: "1", b: "2", c: "3", d: "4" } }, "metadata: has 4 keys, over the limit of 3"],
    [
      { metadata: { a: "x".repeat(20), b: "y".repeat(20), c: "z".repeat(10) } },
      "metadata: is 53 bytes",
    ],
    [{ contentType: "text/plain\r\nx: y" }, "content_type: holds control character U+000D"],
  ] as [Partial<DocumentFields>, string][])("refuses %j naming the field", (doc, expected) => {
    expect(refusal(doc)).toContain(expected);
  });

  it("names the field the way the RPC client wrote it", () => {
    expect(refusal({ title: "\u0000" }, "documents[2].")).toMatch(
      /^documents\[2\]\.title: holds a NUL/,
    );
  });

  it("bodyProblem accepts paired surrogates and refuses a lone one at its offset", () => {
    expect(bodyProblem("😀😀", 100)).toBeUndefined();
    expect(bodyProblem("😀\ud83d", 100)).toContain("offset 2");
  });
});
