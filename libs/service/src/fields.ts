import { Code, ConnectError } from "@connectrpc/connect";

/**
 * What a string from outside may hold. Every field that crosses an edge (RPC, bus event, CLI)
 * is checked against one of these before it reaches storage, a header, a subject or a log.
 */
export interface TextRule {
  /** Largest UTF-8 size in bytes. */
  maxBytes: number;
  /** Empty (or blank) is refused. */
  required?: boolean;
  /**
   * Control characters: `reject` refuses any C0/C1 control or DEL (identifiers, keys);
   * `whitespace` allows tab, line feed, carriage return and form feed only (titles, text).
   * NUL and lone surrogates are refused in every mode: PostgreSQL, JSON and UTF-8 cannot hold them.
   */
  control: "reject" | "whitespace";
}

/** Identifiers that end up in database keys, message ids, headers and logs. */
export const ID_RULE: TextRule = { maxBytes: 512, required: true, control: "reject" };
/** Metadata keys. */
export const KEY_RULE: TextRule = { maxBytes: 128, required: true, control: "reject" };

/** UTF-8 size of a JavaScript string (lone surrogates count as the 3 bytes of U+FFFD). */
export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** Index of the first unpaired surrogate, or -1. */
export function loneSurrogateAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (n >= 0xdc00 && n <= 0xdfff) {
        i++;
        continue;
      }
    }
    return i;
  }
  return -1;
}

// C0 controls, DEL and C1 controls; and the same without tab, LF, CR and FF.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const ANY_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above
const NON_WHITESPACE_CONTROL = /[\u0000-\u0008\u000b\u000e-\u001f\u007f-\u009f]/;

/**
 * Why a value breaks the rule (a short phrase that never quotes the value, so it is safe to
 * log and to return), or undefined when it is acceptable.
 */
export function textProblem(value: string, rule: TextRule): string | undefined {
  if (rule.required && value.trim() === "") return "is required";
  // Cheap bound first: a UTF-16 unit is at most 3 UTF-8 bytes, at least 1.
  if (value.length > rule.maxBytes || utf8Bytes(value) > rule.maxBytes) {
    return `is ${utf8Bytes(value)} bytes, over the limit of ${rule.maxBytes}`;
  }
  const nul = value.indexOf("\u0000");
  if (nul >= 0) return `holds a NUL character at offset ${nul}`;
  const lone = loneSurrogateAt(value);
  if (lone >= 0) return `holds an unpaired UTF-16 surrogate at offset ${lone} (not valid Unicode)`;
  const control = rule.control === "reject" ? ANY_CONTROL : NON_WHITESPACE_CONTROL;
  const m = control.exec(value);
  if (m) {
    const code = m[0].charCodeAt(0).toString(16).padStart(4, "0");
    return `holds control character U+${code.toUpperCase()} at offset ${m.index}`;
  }
  return undefined;
}

/** A field that breaks its rule; `field` names it the way the client wrote it (e.g. `documents[3].id`). */
export class FieldError extends Error {
  override readonly name = "FieldError";
  readonly code = "invalid_field";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

export function isFieldError(err: unknown): err is FieldError {
  return err instanceof FieldError;
}

/** Throws FieldError when `value` breaks `rule`; returns the value otherwise. */
export function checkText(field: string, value: string, rule: TextRule): string {
  const problem = textProblem(value, rule);
  if (problem) throw new FieldError(field, problem);
  return value;
}

/** Converts a FieldError to INVALID_ARGUMENT (other errors pass through unchanged). */
export function toConnectError(err: unknown): unknown {
  if (isFieldError(err)) return new ConnectError(err.message, Code.InvalidArgument);
  return err;
}
