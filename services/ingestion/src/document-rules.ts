import {
  FieldError,
  ID_RULE,
  KEY_RULE,
  type TextRule,
  textProblem,
  utf8Bytes,
} from "@tailor/service";

/** Size limits of one document, from the ingestion config. */
export interface DocumentLimits {
  maxTextBytes: number;
  maxTitleBytes: number;
  maxMetadataKeys: number;
  maxMetadataValueBytes: number;
  /** Keys and values together, in UTF-8 bytes. */
  maxMetadataBytes: number;
}

/** What a document looks like at the edge, before it is stored (bus event or RPC request). */
export interface DocumentFields {
  id: string;
  title: string;
  text: string;
  contentType: string;
  metadata: Record<string, string>;
}

const LONE_SURROGATE = /\p{Cs}/u;
const CONTENT_TYPE_RULE: TextRule = { maxBytes: 256, control: "reject" };

/**
 * Checks every field of a document against the limits; throws a FieldError naming the first
 * bad field as `${prefix}<field>` (e.g. `documents[3].title`). The same check guards the bus and
 * the RPC path, so nothing reaches storage, a message id, a header or a log unchecked.
 */
export function checkDocument(doc: DocumentFields, limits: DocumentLimits, prefix = ""): void {
  checkId(`${prefix}id`, doc.id);
  const title = textProblem(doc.title, {
    maxBytes: limits.maxTitleBytes,
    control: "whitespace",
  });
  if (title) throw new FieldError(`${prefix}title`, title);
  const ct = textProblem(doc.contentType, CONTENT_TYPE_RULE);
  if (ct) throw new FieldError(`${prefix}content_type`, ct);
  checkMetadata(`${prefix}metadata`, doc.metadata, limits);
  const text = bodyProblem(doc.text, limits.maxTextBytes);
  if (text) throw new FieldError(`${prefix}text`, text);
}

/** Checks a document id (database key, message id part, log field). */
export function checkId(field: string, id: string): void {
  const problem = textProblem(id, ID_RULE);
  if (problem) throw new FieldError(field, problem);
}

function checkMetadata(
  field: string,
  metadata: Record<string, string>,
  limits: DocumentLimits,
): void {
  const keys = Object.keys(metadata);
  if (keys.length > limits.maxMetadataKeys)
    throw new FieldError(
      field,
      `has ${keys.length} keys, over the limit of ${limits.maxMetadataKeys}`,
    );
  let total = 0;
  for (const [n, key] of keys.entries()) {
    // A bad key is named by its position: quoting it could put the bad bytes in a header or log.
    const keyProblem = textProblem(key, KEY_RULE);
    if (keyProblem) throw new FieldError(field, `key ${n} ${keyProblem}`);
    const value = metadata[key];
    if (typeof value !== "string")
      throw new FieldError(`${field}[${JSON.stringify(key)}]`, "must be a string");
    const valueProblem = textProblem(value, {
      maxBytes: limits.maxMetadataValueBytes,
      control: "whitespace",
    });
    if (valueProblem) throw new FieldError(`${field}[${JSON.stringify(key)}]`, valueProblem);
    total += utf8Bytes(key) + utf8Bytes(value);
  }
  if (total > limits.maxMetadataBytes)
    throw new FieldError(
      field,
      `is ${total} bytes (keys and values), over the limit of ${limits.maxMetadataBytes}`,
    );
}

/**
 * Why a document body cannot be stored, or undefined. Bodies may hold any control character a
 * real file holds (vertical tab, escape…); only what PostgreSQL and UTF-8 cannot represent is refused.
 */
export function bodyProblem(text: string, maxBytes: number): string | undefined {
  if (text.length > maxBytes || utf8Bytes(text) > maxBytes)
    return `is ${utf8Bytes(text)} bytes, over the limit of ${maxBytes}`;
  const nul = text.indexOf("\u0000");
  if (nul >= 0) return `holds a NUL character at offset ${nul}`;
  // In a `u` regex a pair is one code point, so \p{Cs} matches unpaired surrogates only.
  const lone = LONE_SURROGATE.exec(text);
  if (lone) return `holds an unpaired UTF-16 surrogate at offset ${lone.index} (not valid Unicode)`;
  return undefined;
}
