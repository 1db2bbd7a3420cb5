/** Entity types the built-in recognisers emit; tenants may add their own names. */
export const PII_TYPES = [
  "EMAIL",
  "PHONE",
  "CREDIT_CARD",
  "IBAN",
  "US_SSN",
  "IP_ADDRESS",
  "URL",
  "DATE",
  "PERSON",
  "ADDRESS",
  "ORGANIZATION",
  "LOCATION",
] as const;

export type PiiType = (typeof PII_TYPES)[number];

/** One detected span: `start`/`end` are UTF-16 indices (JS string offsets) into the input. */
export interface Finding {
  type: string;
  start: number;
  end: number;
  score: number;
}

/** Words near a span that raise confidence (compared lower-case, within CONTEXT_WINDOW). */
export const CONTEXT_WINDOW = 48;

/**
 * True when any of `words` ends within the CONTEXT_WINDOW characters before `start` or starts
 * within those after `end` (bounded slices keep this O(window) per call).
 */
export function hasContext(text: string, start: number, end: number, words: readonly string[]) {
  const before = text.slice(Math.max(0, start - CONTEXT_WINDOW), start).toLowerCase();
  const after = text.slice(end, end + CONTEXT_WINDOW / 2).toLowerCase();
  for (const w of words) if (before.includes(w) || after.includes(w)) return true;
  return false;
}
