/** A word of the input with its UTF-16 span and the shape facts the recognisers use. */
export interface Token {
  text: string;
  lower: string;
  start: number;
  end: number;
  /** Upper-case first letter followed by at least one lower-case letter ("Anna", "McKay"). */
  title: boolean;
  /** Two or more letters, all upper-case ("CHISHOLM"). */
  caps: boolean;
  /** First word of a sentence or line, where capitalisation says nothing. */
  sentenceStart: boolean;
  /** Characters between the previous token and this one. */
  gap: string;
}

// Letters (any script) with inner apostrophes/hyphens/dots-in-abbreviations; digits as own tokens.
const WORD = /[\p{L}\p{M}](?:[\p{L}\p{M}]|['’-](?=[\p{L}]))*|\d+/gu;
const MAX_GAP = 12;
const SENTENCE_END = '.!?:;"“(\n';

/** Splits text into word tokens in one linear pass. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let prevEnd = 0;
  WORD.lastIndex = 0;
  for (let m = WORD.exec(text); m !== null; m = WORD.exec(text)) {
    let word = m[0];
    // A possessive belongs to the name it follows, not to the name ("Arne's" -> "Arne").
    const n = word.length;
    if (n > 3 && word[n - 1] === "s" && (word[n - 2] === "'" || word[n - 2] === "’")) {
      word = word.slice(0, -2);
    }
    const start = m.index;
    const gap = start === prevEnd ? "" : text.slice(Math.max(prevEnd, start - MAX_GAP), start);
    const prevChar = gap === "" ? "" : gapLastNonSpace(gap);
    const lower = word.toLowerCase();
    const upper = word.toUpperCase();
    const first = word.charCodeAt(0);
    // Digits and caseless scripts have lower === upper: neither title nor caps.
    const isUpper = word[0] !== lower[0];
    out.push({
      text: word,
      lower,
      start,
      end: start + word.length,
      title: isUpper && word.slice(1) !== upper.slice(1),
      caps: word.length > 1 && word === upper && word !== lower && first > 64,
      sentenceStart:
        out.length === 0 ||
        (prevChar !== "" && SENTENCE_END.includes(prevChar)) ||
        gap.includes("\n"),
      gap,
    });
    prevEnd = m.index + m[0].length;
  }
  return out;
}

function gapLastNonSpace(gap: string): string {
  for (let i = gap.length - 1; i >= 0; i--) {
    const c = gap[i]!;
    if (c !== " " && c !== "\t") return c;
  }
  return "";
}

/** True when only spaces (no punctuation or newline) separate two adjacent tokens. */
export function joined(t: Token): boolean {
  return /^[ \t]{1,2}$/.test(t.gap);
}
