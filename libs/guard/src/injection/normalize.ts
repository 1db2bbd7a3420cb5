// Invisible characters used to hide or split instructions: zero-width, bidi controls, tags.
const ZERO_WIDTH = /[\u200B-\u200F\u2060-\u2064\uFEFF\u00AD]/g;
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;
const TAGS = /\uDB40[\uDC00-\uDC7F]/g;

/** Counts of hidden-text tricks found in the raw text. */
export interface Hidden {
  zeroWidth: number;
  bidi: number;
  tags: number;
  control: number;
}

export function countHidden(text: string): Hidden {
  const count = (re: RegExp) => {
    re.lastIndex = 0;
    let n = 0;
    while (re.exec(text) !== null) n++;
    return n;
  };
  return {
    zeroWidth: count(ZERO_WIDTH),
    bidi: count(BIDI),
    tags: count(TAGS),
    control: countControl(text),
  };
}

/** C0 controls other than tab, newline and carriage return (and DEL) have no place in prose. */
function countControl(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13) || c === 127) n++;
  }
  return n;
}

/**
 * Text as an instruction-follower would read it: Unicode tag characters decoded to the ASCII
 * they smuggle, invisible characters removed, NFKC (full-width and styled letters folded),
 * lower-cased, whitespace collapsed. Lone surrogates pass through; nothing throws.
 */
export function normalizeForMatching(text: string): string {
  const untagged = text.replace(TAGS, (pair) =>
    String.fromCharCode((pair.charCodeAt(1) - 0xdc00) & 0x7f),
  );
  let s = untagged.replace(ZERO_WIDTH, "").replace(BIDI, "");
  try {
    s = s.normalize("NFKC");
  } catch {
    // normalize() does not throw on lone surrogates in V8, but a hostile input must not stop us.
  }
  return s.toLowerCase().replace(/\s+/g, " ");
}
