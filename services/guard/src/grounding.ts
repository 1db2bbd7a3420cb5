import { analyze } from "@tailor/keyword";

/** One answer sentence: its span in the answer and how well the best passage supports it. */
export interface SentenceSupport {
  start: number;
  end: number;
  support: number;
  supported: boolean;
  /** Index of the best passage, -1 when there is none. */
  bestContext: number;
}

// Function words the Lucene stop set keeps: a sentence is grounded by what it says, not by
// "we", "has" or "would" appearing somewhere in a passage.
const FUNCTION_WORDS = new Set(
  analyze(
    "i me my we our you your he him his she her its our they them what which who whom when where why how can could would should may might must shall has have had having been being do does did done also so than too very just about from up down out over under again more most some any each all both other only own same here can't don't won't yes ok okay sure thanks thank please hello hi",
  ),
);

const MAX_SENTENCES = 10_000;

function contentWords(text: string): Set<string> {
  const words = new Set<string>();
  for (const w of analyze(text)) if (!FUNCTION_WORDS.has(w)) words.add(w);
  return words;
}

/**
 * Sentence spans of `text` (UTF-16 offsets, trimmed): a sentence ends at `.`, `!` or `?`
 * followed by white space or the end, or at a line break. Bounded in count.
 */
export function sentences(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  const push = (from: number, to: number) => {
    let s = from;
    let e = to;
    while (s < e && /\s/.test(text[s]!)) s++;
    while (e > s && /\s/.test(text[e - 1]!)) e--;
    if (e > s) out.push({ start: s, end: e });
  };
  let from = 0;
  for (const m of text.matchAll(/[.!?]+(?=\s|$)|\n/g)) {
    if (out.length >= MAX_SENTENCES) break;
    push(from, m.index + m[0].length);
    from = m.index + m[0].length;
  }
  if (out.length < MAX_SENTENCES) push(from, text.length);
  return out;
}

/**
 * Support of each sentence of `answer` against `context`: the share of the sentence's distinct
 * stemmed content words that the best single passage contains. A sentence without content
 * words ("Yes.") claims nothing and counts as supported.
 */
export function ground(answer: string, context: readonly string[], threshold: number) {
  const passages = context.map(contentWords);
  return sentences(answer).map(({ start, end }): SentenceSupport => {
    const words = contentWords(answer.slice(start, end));
    if (words.size === 0) return { start, end, support: 1, supported: true, bestContext: -1 };
    let support = 0;
    let bestContext = -1;
    for (const [i, p] of passages.entries()) {
      let n = 0;
      for (const w of words) if (p.has(w)) n++;
      const s = n / words.size;
      if (s > support || bestContext === -1) {
        support = s;
        bestContext = i;
      }
    }
    return { start, end, support, supported: support >= threshold, bestContext };
  });
}
