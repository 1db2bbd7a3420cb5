import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  checkText,
  FieldError,
  ID_RULE,
  loneSurrogateAt,
  type TextRule,
  textProblem,
  toConnectError,
} from "./fields.js";

const TEXT: TextRule = { maxBytes: 16, control: "whitespace" };

describe("field rules", () => {
  it("accepts ordinary and astral text", () => {
    expect(textProblem("order-42_ü", ID_RULE)).toBeUndefined();
    expect(textProblem("😀 ok", ID_RULE)).toBeUndefined();
    expect(textProblem("a\tb\nc\r\fd", TEXT)).toBeUndefined();
  });

  it("refuses NUL and lone surrogates in every mode, naming the offset", () => {
    expect(textProblem("ab\u0000", TEXT)).toBe("holds a NUL character at offset 2");
    expect(textProblem("x\ud800", TEXT)).toMatch(/unpaired UTF-16 surrogate at offset 1/);
    expect(textProblem("\udc00x", ID_RULE)).toMatch(/offset 0/);
    expect(textProblem("😀\ud83d", ID_RULE)).toMatch(/offset 2/);
  });

  it("refuses control characters in identifiers but allows whitespace in text", () => {
    expect(textProblem("line1\nline2", ID_RULE)).toBe("holds control character U+000A at offset 5");
    expect(textProblem("a\u0085", ID_RULE)).toMatch(/U\+0085/);
    expect(textProblem("a\u001b[31m", TEXT)).toMatch(/U\+001B/);
  });

  it("counts UTF-8 bytes, not UTF-16 units, and never quotes the value", () => {
    expect(textProblem("é".repeat(9), TEXT)).toBe("is 18 bytes, over the limit of 16");
    expect(textProblem("secret-value-xyz!", TEXT)).not.toContain("secret");
    expect(textProblem("  ", ID_RULE)).toBe("is required");
  });

  it("finds surrogates only when unpaired", () => {
    expect(loneSurrogateAt("😀😀")).toBe(-1);
    expect(loneSurrogateAt("a\ud83d\ud83d\ude00")).toBe(1);
  });

  it("turns a FieldError into INVALID_ARGUMENT naming the field", () => {
    let caught: unknown;
    try {
      checkText("documents[3].id", "a\u0000", ID_RULE);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FieldError);
    const c = toConnectError(caught);
    expect(c).toBeInstanceOf(ConnectError);
    expect((c as ConnectError).code).toBe(Code.InvalidArgument);
    expect((c as ConnectError).rawMessage).toBe(
      "documents[3].id: holds a NUL character at offset 1",
    );
    const other = new Error("x");
    expect(toConnectError(other)).toBe(other);
  });
});
