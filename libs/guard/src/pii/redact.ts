import type { Finding } from "./types.js";

/**
 * Replaces each finding's span with `[TYPE]` (or `placeholder(f)`); overlapping or out-of-range
 * findings are clipped so the output is always well-formed.
 */
export function redact(
  text: string,
  findings: readonly Finding[],
  placeholder: (f: Finding) => string = (f) => `[${f.type}]`,
): string {
  const sorted = [...findings]
    .filter((f) => Number.isInteger(f.start) && Number.isInteger(f.end) && f.end > f.start)
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const parts: string[] = [];
  let at = 0;
  for (const f of sorted) {
    const start = Math.max(at, Math.min(f.start, text.length));
    const end = Math.min(f.end, text.length);
    if (end <= start) continue;
    parts.push(text.slice(at, start), placeholder(f));
    at = end;
  }
  parts.push(text.slice(at));
  return parts.join("");
}
