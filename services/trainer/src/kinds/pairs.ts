import { mulberry32 } from "@tailor/models/random";
import type { CorpusChunk } from "../data/corpus.js";
import type { TrainSet } from "../data/eval-data.js";

/** One adapter training example as text: the query side and what it should retrieve. */
export interface TextPair {
  query: string;
  positive: string;
  kind: "title" | "heading" | "label";
}

/** Characters of a positive text embedded (the embedder truncates to its tokens anyway). */
const MAX_TEXT = 4000;

/**
 * Adapter pairs from the corpus itself and from the labels: title → chunk of the same document
 * (what retrieval indexes), heading → the rest of its section (a chunk whose first line reads as
 * a heading, in documents of several chunks), and query → a chunk of a relevant document. The
 * list is shuffled with the seed (the trainer's shuffle buffer is bounded, so the stream itself
 * must mix kinds) and capped at `maxPairs`, so the same corpus and seed give the same pairs.
 */
export function adapterPairs(
  chunks: readonly CorpusChunk[],
  train: TrainSet,
  o: { seed: number; maxPairs: number },
): TextPair[] {
  const pairs: TextPair[] = [];
  const chunksPerDoc = new Map<string, CorpusChunk[]>();
  for (const c of chunks) {
    const list = chunksPerDoc.get(c.documentId);
    if (list) list.push(c);
    else chunksPerDoc.set(c.documentId, [c]);
  }
  for (const c of chunks) {
    const title = c.title.trim();
    const text = c.text.trim();
    if (title && text && title !== text)
      pairs.push({ query: title, positive: clip(text), kind: "title" });
    const docChunks = chunksPerDoc.get(c.documentId)!;
    if (docChunks.length < 2) continue;
    const heading = headingOf(text, title);
    if (heading)
      pairs.push({ query: heading.heading, positive: clip(heading.rest), kind: "heading" });
  }
  for (const q of train.judged) {
    for (const doc of [...q.relevant.keys()].sort()) {
      const first = chunksPerDoc
        .get(doc)
        ?.slice()
        .sort((a, b) => a.index - b.index)[0];
      if (first) pairs.push({ query: q.text, positive: clip(first.text), kind: "label" });
    }
  }
  const rng = mulberry32(o.seed ^ 0x2545f491);
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [pairs[i], pairs[j]] = [pairs[j]!, pairs[i]!];
  }
  return pairs.slice(0, o.maxPairs);
}

/**
 * The first line of a chunk when it reads as a heading: short, a few words, no sentence
 * punctuation at its end, not the document's title, with a section of some length after it.
 */
function headingOf(text: string, title: string): { heading: string; rest: string } | undefined {
  const nl = text.indexOf("\n");
  if (nl < 0) return undefined;
  const heading = text
    .slice(0, nl)
    .replace(/^#+\s*/, "")
    .trim();
  const rest = text.slice(nl + 1).trim();
  if (heading.length < 3 || heading.length > 100 || rest.length < 50) return undefined;
  if (/[.?!:;,]$/.test(heading) || heading.split(/\s+/).length < 2) return undefined;
  if (heading.toLowerCase() === title.toLowerCase()) return undefined;
  return { heading, rest };
}

function clip(s: string): string {
  return s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) : s;
}
