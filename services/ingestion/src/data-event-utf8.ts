import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** DataEvent string fields by number; 5 is the metadata map, 6 the claim-check reference. */
const FIELDS: Record<number, string> = {
  1: "id",
  2: "title",
  3: "text",
  4: "content_type",
  5: "metadata",
  6: "text_ref",
};

/**
 * Names the DataEvent field whose bytes are not valid UTF-8, or undefined when every string is.
 * Protobuf strings must be UTF-8; the decoder refuses them but does not say which field, and
 * the dead-letter reason should tell the publisher what to fix.
 */
export function invalidUtf8Field(bytes: Uint8Array): string | undefined {
  try {
    const r = new BinaryReader(bytes);
    while (r.pos < r.len) {
      const [no, type] = r.tag();
      if (type !== WireType.LengthDelimited) {
        r.skip(type, no);
        continue;
      }
      const value = r.bytes();
      const name = FIELDS[no];
      if (!name) continue;
      if (no === 5 || no === 6) {
        if (!nestedStringsValid(value)) return name;
      } else if (!valid(value)) return name;
    }
  } catch {
    // Malformed framing is reported by the decoder itself.
  }
  return undefined;
}

/** Map entries and ObjectRef hold only strings (and varints) in their length-delimited fields. */
function nestedStringsValid(bytes: Uint8Array): boolean {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, type] = r.tag();
    if (type !== WireType.LengthDelimited) r.skip(type, no);
    else if (!valid(r.bytes())) return false;
  }
  return true;
}

function valid(b: Uint8Array): boolean {
  try {
    strict.decode(b);
    return true;
  } catch {
    return false;
  }
}
