import { create, toBinary } from "@bufbuild/protobuf";
import { DataEventSchema, ObjectRefSchema } from "@tailor/proto";
import { describe, expect, it } from "vitest";
import { FieldError } from "./fields.js";
import { fromBinaryUtf8 } from "./utf8-guard.js";

/** Replaces the first byte of the ASCII marker with 0xFF (invalid UTF-8). */
function corrupt(bytes: Uint8Array, marker: string): Uint8Array {
  const out = Uint8Array.from(bytes);
  const at = Buffer.from(out).indexOf(marker);
  expect(at).toBeGreaterThanOrEqual(0);
  out[at] = 0xff;
  return out;
}

describe("fromBinaryUtf8 (outside a request)", () => {
  const ev = create(DataEventSchema, {
    id: "ID-MARK",
    title: "TITLE-MARK",
    text: "TEXT-MARK",
    contentType: "text/plain",
    metadata: { "KEY-MARK": "VALUE-MARK" },
    textRef: create(ObjectRefSchema, { bucket: "BUCKET-MARK", name: "n" }),
  });
  const bytes = toBinary(DataEventSchema, ev);

  it("decodes a valid message as fromBinary does", () => {
    expect(fromBinaryUtf8(DataEventSchema, bytes).metadata).toEqual({ "KEY-MARK": "VALUE-MARK" });
  });

  it.each([
    ["ID-MARK", "id"],
    ["TITLE-MARK", "title"],
    ["TEXT-MARK", "text"],
    ["KEY-MARK", "metadata (a key)"],
    ["VALUE-MARK", 'metadata["KEY-MARK"]'],
    ["BUCKET-MARK", "text_ref.bucket"],
  ])("names the field holding %s", (marker, field) => {
    let caught: unknown;
    try {
      fromBinaryUtf8(DataEventSchema, corrupt(bytes, marker));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FieldError);
    expect((caught as FieldError).field).toBe(field);
    expect((caught as FieldError).reason).toBe("is not valid UTF-8");
  });

  it("still throws on malformed framing", () => {
    expect(() => fromBinaryUtf8(DataEventSchema, bytes.subarray(0, bytes.length - 3))).toThrow();
  });
});
