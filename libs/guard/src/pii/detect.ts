import { findAddresses } from "./address.js";
import type { Gazetteer } from "./gazetteer.js";
import { findNames, findSurnameFirms } from "./names.js";
import {
  findCards,
  findDates,
  findEmails,
  findIbans,
  findIps,
  findPhones,
  findSsns,
  findUrls,
} from "./patterns.js";
import { tokenize } from "./tokens.js";
import type { Finding } from "./types.js";

/** A tenant's own entity: a regular expression with a name (the placeholder is `[NAME]`). */
export interface CustomPattern {
  name: string;
  pattern: RegExp | string;
  score?: number;
}

/** Per-tenant calibration of the PII detector. */
export interface PiiOptions {
  /** Minimum score per type; types not listed use `defaultThreshold`. */
  thresholds?: Readonly<Record<string, number>>;
  defaultThreshold?: number;
  /** Terms never reported (compared case-insensitively against the whole finding). */
  allowlist?: readonly string[];
  customPatterns?: readonly CustomPattern[];
  /** Limit to these types (built-in and custom names); all when absent. */
  types?: readonly string[];
}

export const DEFAULT_THRESHOLD = 0.5;
const MAX_CUSTOM_MATCHES = 10_000;

/**
 * Finds PII spans in `text`. Never throws on any string (NUL, lone surrogates, megabytes);
 * overlapping candidates are resolved by score, then by length. Offsets index `text` directly.
 */
export function detectPii(text: string, gaz: Gazetteer, options: PiiOptions = {}): Finding[] {
  const raw: Finding[] = [];
  if (typeof text !== "string" || text.length === 0) return raw;
  findEmails(text, raw);
  findUrls(text, raw);
  findCards(text, raw);
  findIbans(text, raw);
  findSsns(text, raw);
  findIps(text, raw);
  findDates(text, raw);
  findPhones(text, raw);
  const tokens = tokenize(text);
  findAddresses(text, tokens, gaz, raw);
  findSurnameFirms(text, gaz, raw);
  findNames(text, tokens, gaz, raw);
  for (const c of options.customPatterns ?? []) findCustom(text, c, raw);

  const allow = new Set((options.allowlist ?? []).map((s) => s.toLowerCase()));
  const only = options.types ? new Set(options.types) : undefined;
  const kept = raw.filter((f) => {
    if (only && !only.has(f.type)) return false;
    const min = options.thresholds?.[f.type] ?? options.defaultThreshold ?? DEFAULT_THRESHOLD;
    if (f.score < min) return false;
    return allow.size === 0 || !allow.has(text.slice(f.start, f.end).toLowerCase());
  });
  return resolveOverlaps(absorbIntoAddresses(kept, text.length));
}

const ADDRESS_PARTS = new Set(["LOCATION", "PERSON", "ORGANIZATION"]);

/**
 * A street address names places and people ("Nelson Mandela Drive", "Iceland 80392"); those
 * inner pieces belong to the address rather than competing with it on score.
 */
function absorbIntoAddresses(findings: Finding[], length: number): Finding[] {
  const addresses = findings.filter((f) => f.type === "ADDRESS");
  if (addresses.length === 0) return findings;
  // Per position, the length of the longest address covering it.
  const cover = new Int32Array(length);
  for (const a of addresses) {
    const len = a.end - a.start;
    for (let i = a.start; i < a.end; i++) if (cover[i]! < len) cover[i] = len;
  }
  return findings.filter((f) => {
    const len = f.type === "ADDRESS" ? f.end - f.start : 0;
    if (f.type !== "ADDRESS" && !ADDRESS_PARTS.has(f.type)) return true;
    for (let i = f.start; i < f.end; i++) if (cover[i]! <= len) return true;
    return false;
  });
}

/** Greedy by score (then length): each position belongs to at most one finding. */
export function resolveOverlaps(findings: Finding[]): Finding[] {
  if (findings.length === 0) return [];
  const sorted = [...findings].sort(
    (a, b) => b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start,
  );
  let limit = 0;
  for (const f of findings) limit = Math.max(limit, f.end);
  // One byte per code unit: checking a span costs its length, and every span is bounded.
  const taken = new Uint8Array(limit);
  const chosen: Finding[] = [];
  for (const f of sorted) {
    let free = true;
    for (let i = f.start; i < f.end && free; i++) free = taken[i] === 0;
    if (!free) continue;
    taken.fill(1, f.start, f.end);
    chosen.push(f);
  }
  return chosen.sort((a, b) => a.start - b.start);
}

function findCustom(text: string, c: CustomPattern, out: Finding[]): void {
  let re: RegExp;
  try {
    const src = typeof c.pattern === "string" ? c.pattern : c.pattern.source;
    const flags = typeof c.pattern === "string" ? "gu" : c.pattern.flags;
    re = new RegExp(src, flags.includes("g") ? flags : `${flags}g`);
  } catch {
    return;
  }
  let n = 0;
  for (let m = re.exec(text); m !== null && n < MAX_CUSTOM_MATCHES; m = re.exec(text), n++) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    out.push({ type: c.name, start: m.index, end: m.index + m[0].length, score: c.score ?? 0.9 });
  }
}
