import { isValidToken } from "@tailor/bus";
import { checkText, FieldError, ID_RULE, type TextRule } from "@tailor/service";

// Every check throws FieldError naming the field as the client wrote it; the RPC layer turns it
// into INVALID_ARGUMENT. Messages never quote the value (it may be the very text being guarded).

/** A text to check: 1 MB of UTF-8, newlines and tabs allowed, never NUL or lone surrogates. */
export const TEXT_RULE: TextRule = { maxBytes: 1024 * 1024, control: "whitespace" };
/** Items one Scan may carry, and chunk ids one GetChunkVerdicts may ask for. */
export const MAX_SCAN_ITEMS = 1000;
export const MAX_CHUNK_IDS = 1000;
/** Retrieved passages one CheckOutput may ground its answer in. */
export const MAX_CONTEXT = 256;
const OPTIONAL_ID: TextRule = { ...ID_RULE, required: false };

/** The tenant every request is scoped to: required, and a valid subject token. */
export function checkTenant(tenant: string): string {
  if (!tenant) throw new FieldError("tenant", "is required: every request is scoped to one tenant");
  checkText("tenant", tenant, ID_RULE);
  if (!isValidToken(tenant)) throw new FieldError("tenant", "must match [A-Za-z0-9_-]{1,128}");
  return tenant;
}

export function checkGuardedText(field: string, text: string): string {
  return checkText(field, text, TEXT_RULE);
}

/** An id the client gave (a Scan item's): may be empty, never a control character. */
export function checkOptionalId(field: string, id: string): string {
  return checkText(field, id, OPTIONAL_ID);
}

export function checkId(field: string, id: string): string {
  return checkText(field, id, ID_RULE);
}

/** At most `max` entries: refused before any of them is looked at. */
export function checkCount(field: string, n: number, max: number): void {
  if (n > max) throw new FieldError(field, `holds ${n} entries, over the limit of ${max}`);
}
