// Sentences of retrieved passages, cleaned so they can be quoted in an answer. Passages are
// hostile (NUL, controls, lone surrogates, bidi overrides, forged citation markers, megabytes):
// everything here is linear in the input and bounded in what it produces.

import { cleanText } from "@tailor/clients";

export { cleanText };

/** Longest sentence quoted; a run without a sentence end is cut at a space before this. */
export const MAX_SENTENCE_CHARS = 400;

const SENTENCE_END = new Set([".", "!", "?", "…"]);
const CLOSERS = new Set(['"', "'", ")", "]", "\u201d", "\u2019", "»"]);
/** A line that starts a block of its own (Markdown heading, list item, quote, table, fence). */
const BLOCK_START = /^(?:#{1,6}\s|[-*+]\s|\d{1,3}[.)]\s|>|\||```)/;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const LEADING_MARKUP = /^(?:#{1,6}\s+|[-*+]\s+|>\s*|\d{1,3}[.)]\s+|\|\s*)+/;

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b\u000e-\u001f\u007f-\u009f]/g;

/** Text with its lines kept but without NUL, other controls or lone surrogates. */
export function safeText(s: string): string {
  return s.replace(LONE_SURROGATE, "").replace(CONTROL_BUT_LINES, " ");
}

/** A sentence as quoted: cleaned and without leading Markdown markup. */
function cleanSentence(s: string): string {
  return cleanText(s).replace(LEADING_MARKUP, "").trim();
}

function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\u00a0";
}

function isLower(c: string | undefined): boolean {
  return c !== undefined && /\p{Ll}/u.test(c);
}

/**
 * Splits `text` into cleaned sentences, in order, at most `limit` of them. A sentence ends at
 * `.`, `!`, `?` or `…` (with closing quotes or brackets) followed by a space and no lower-case
 * letter ("e.g. the" stays whole), at a blank line or before a line that starts a block.
 */
export function splitSentences(text: string, limit: number): string[] {
  const out: string[] = [];
  const n = text.length;
  let start = 0;
  let i = 0;
  const emit = (end: number, next: number) => {
    const s = cleanSentence(text.slice(start, end));
    if (s) out.push(s);
    start = next;
    i = next;
  };
  while (i < n && out.length < limit) {
    if (i - start >= MAX_SENTENCE_CHARS) {
      const space = text.lastIndexOf(" ", i);
      let cut = space > start + MAX_SENTENCE_CHARS / 2 ? space : i;
      // Never between the halves of a surrogate pair.
      const code = text.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut--;
      emit(cut, cut);
      continue;
    }
    const c = text[i]!;
    if (c === "\n") {
      let j = i + 1;
      while (j < n && (text[j] === " " || text[j] === "\t" || text[j] === "\r")) j++;
      if (j >= n || text[j] === "\n" || BLOCK_START.test(text.slice(j, j + 4))) emit(i, j);
      else i++;
      continue;
    }
    if (SENTENCE_END.has(c)) {
      let j = i + 1;
      while (j < n && j - i < 8 && (SENTENCE_END.has(text[j]!) || CLOSERS.has(text[j]!))) j++;
      let k = j;
      while (k < n && isSpace(text[k])) k++;
      if (k >= n || (k > j && !isLower(text[k]))) emit(j, k);
      else i = j;
      continue;
    }
    i++;
  }
  if (out.length < limit && start < n) emit(n, n);
  return out;
}

/**
 * `sentence` with its citation marker before the closing punctuation (`… Paris [2].`), so a
 * sentence splitter reading the answer keeps each marker with its sentence.
 */
export function citeSentence(sentence: string, n: number): string {
  const end = /[.!?…]+["'”’»)\]]*$/.exec(sentence);
  if (!end) return `${sentence} [${n}].`;
  return `${sentence.slice(0, end.index).trimEnd()} [${n}]${end[0]}`;
}
