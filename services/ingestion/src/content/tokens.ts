// Character classes for the token estimator. ASCII goes through a lookup table because
// counting runs over every chunk candidate; only non-ASCII falls back to Unicode regexes.
const SPACE = 0;
const WORD = 1;
const PUNCT = 2;
// Scripts written without spaces: a subword tokenizer spends about one token per character.
const WIDE = 3;

const ASCII_CLASS = new Uint8Array(128).fill(PUNCT);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/\s/.test(ch) || c < 32 || c === 127) ASCII_CLASS[c] = SPACE;
  else if (/[A-Za-z0-9_]/.test(ch)) ASCII_CLASS[c] = WORD;
}

const UNICODE_SPACE = /^\s$/u;
const UNICODE_WIDE = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]$/u;
const UNICODE_WORD = /^[\p{L}\p{N}\p{M}]$/u;

// Classes of BMP code points, filled on first sight (0 = not yet classified, else class + 1),
// so the Unicode regexes run once per distinct character rather than once per occurrence.
const BMP_CLASS = new Uint8Array(0x10000);

function classifyNonAscii(cp: number): number {
  if (cp <= 0xffff) {
    const cached = BMP_CLASS[cp] ?? 0;
    if (cached !== 0) return cached - 1;
  }
  const ch = String.fromCodePoint(cp);
  let cls = PUNCT;
  if (UNICODE_SPACE.test(ch)) cls = SPACE;
  else if (UNICODE_WIDE.test(ch)) cls = WIDE;
  else if (UNICODE_WORD.test(ch)) cls = WORD;
  if (cp <= 0xffff) BMP_CLASS[cp] = cls + 1;
  return cls;
}

/**
 * Approximate subword-token count: each run of letters/digits costs one token per four
 * characters (at least one), every other visible character costs one.
 */
export function countTokens(text: string): number {
  let tokens = 0;
  let run = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    let cls: number;
    if (c < 128) {
      cls = ASCII_CLASS[c] ?? PUNCT;
    } else {
      const cp = text.codePointAt(i) ?? c;
      if (cp > 0xffff) i++;
      cls = classifyNonAscii(cp);
    }
    if (cls === WORD) {
      run++;
      continue;
    }
    if (run > 0) {
      tokens += (run + 3) >> 2;
      run = 0;
    }
    if (cls !== SPACE) tokens++;
  }
  if (run > 0) tokens += (run + 3) >> 2;
  return tokens;
}

// Abbreviations after which a period never ends a sentence.
const ALWAYS_ABBREVIATIONS = new Set([
  "mr",
  "mrs",
  "ms",
  "mx",
  "dr",
  "prof",
  "sr",
  "jr",
  "st",
  "rev",
  "hon",
  "gen",
  "col",
  "capt",
  "lt",
  "sgt",
  "mt",
  "ft",
  "gov",
  "sen",
  "rep",
  "pres",
  "e.g",
  "i.e",
  "cf",
  "vs",
  "viz",
  "al",
  "approx",
  "ca",
  "est",
  "dept",
  "univ",
  "jan",
  "feb",
  "mar",
  "apr",
  "jun",
  "jul",
  "aug",
  "sep",
  "sept",
  "oct",
  "nov",
  "dec",
]);
// Abbreviations that only bind to a following number ("No. 5", "Fig. 3"); otherwise they are
// ordinary words that can end a sentence ("I said no.").
const NUMERIC_ABBREVIATIONS = new Set([
  "no",
  "nos",
  "fig",
  "figs",
  "vol",
  "vols",
  "p",
  "pp",
  "ch",
  "sec",
  "eq",
  "art",
  "ref",
  "op",
]);

const CLOSERS = "\"')]}»”’";
const OPENERS = "\"'([{«“‘";

function isSpace(ch: string | undefined): boolean {
  if (ch === undefined) return false;
  const c = ch.charCodeAt(0);
  return c < 128 ? ASCII_CLASS[c] === SPACE : classifyNonAscii(c) === SPACE;
}

function isTerminator(c: number): boolean {
  return c === 46 || c === 33 || c === 63 || c === 0x2026;
}

const UPPER = /^\p{Lu}$/u;
const LOWER = /^\p{Ll}$/u;
const DIGIT = /^\p{Nd}$/u;

function firstLetterAfter(text: string, from: number): string | undefined {
  let m = from;
  while (m < text.length && isSpace(text[m])) m++;
  while (m < text.length && OPENERS.includes(text[m] ?? "")) m++;
  return text[m];
}

function isBoundary(
  text: string,
  sentenceStart: number,
  termStart: number,
  termEnd: number,
  after: number,
): boolean {
  const next = firstLetterAfter(text, after);
  if (next === undefined) return true;
  const nextIsLower = LOWER.test(next);
  const run = text.slice(termStart, termEnd);
  // A lowercase continuation means the punctuation sat inside a sentence: `"Why?" she asked`.
  if (nextIsLower) return false;
  if (run === "…" || run.startsWith("..")) return UPPER.test(next);
  if (run !== ".") return true;

  let w = termStart;
  while (w > sentenceStart && !isSpace(text[w - 1]) && !OPENERS.includes(text[w - 1] ?? "")) w--;
  const word = text.slice(w, termStart).toLowerCase();
  if (word.length === 0) return true;
  if (ALWAYS_ABBREVIATIONS.has(word)) return false;
  if (NUMERIC_ABBREVIATIONS.has(word) && DIGIT.test(next)) return false;
  // Initials such as "J. R. Tolkien".
  if (word.length === 1 && UPPER.test(text[w] ?? "")) return false;
  // An enumerator like "1." opening a sentence belongs to it.
  if (w === sentenceStart && /^\d{1,3}$/.test(word)) return false;
  return true;
}

/**
 * Splits text into sentences, keeping terminal punctuation and closing quotes with the
 * sentence. Blank lines always end a sentence; single line breaks do not.
 */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  const n = text.length;
  let start = 0;
  let i = 0;
  const push = (end: number, next: number): void => {
    const s = text.slice(start, end).trim();
    if (s.length > 0) out.push(s);
    let j = next;
    while (j < n && isSpace(text[j])) j++;
    start = j;
    i = j;
  };
  while (i < n) {
    const ch = text[i] ?? "";
    if (ch === "\n") {
      let j = i + 1;
      while (j < n && (text[j] === " " || text[j] === "\t" || text[j] === "\r")) j++;
      if (text[j] === "\n") {
        push(i, j + 1);
        continue;
      }
      i++;
      continue;
    }
    if (isTerminator(text.charCodeAt(i))) {
      let j = i;
      while (j < n && isTerminator(text.charCodeAt(j))) j++;
      let k = j;
      while (k < n && CLOSERS.includes(text[k] ?? "")) k++;
      if ((k === n || isSpace(text[k])) && isBoundary(text, start, i, j, k)) {
        push(k, k);
        continue;
      }
      i = k;
      continue;
    }
    i++;
  }
  push(n, n);
  return out;
}
