import { create, toBinary } from "@bufbuild/protobuf";
import { DataEventSchema, ObjectRefSchema } from "@tailor/proto";
import { describe, expect, it } from "vitest";
import { invalidUtf8Field } from "./data-event-utf8.js";

/** Replaces the first occurrence of the ASCII marker's first byte with 0xFF (invalid UTF-8). */
function corrupt(bytes: Uint8Array, marker: string): Uint8Array {
  const out = Uint8Array.from(bytes);
  const at = Buffer.from(out).indexOf(marker);
  expect(at).toBeGreaterThanOrEqual(0);
  out[at] = 0xff;
  return out;
}

describe("invalidUtf8Field", () => {
  const ev = create(DataEventSchema, {
    id: "ID-MARK",
    title: "TITLE-MARK",
    text: "TEXT-MARK",
    contentType: "text/plain",
    metadata: { "KEY-MARK": "VALUE-MARK" },
    textRef: create(ObjectRefSchema, { bucket: "BUCKET-MARK", name: "n" }),
  });
  const bytes = toBinary(DataEventSchema, ev);

  it("finds nothing in a valid event", () => {
    expect(invalidUtf8Field(bytes)).toBeUndefined();
  });

  it.each([
    ["ID-MARK", "id"],
    ["TITLE-MARK", "title"],
    ["TEXT-MARK", "text"],
    ["KEY-MARK", "metadata"],
    ["VALUE-MARK", "metadata"],
    ["BUCKET-MARK", "text_ref"],
  ])("names the field holding %s", (marker, field) => {
    expect(invalidUtf8Field(corrupt(bytes, marker))).toBe(field);
  });
});
