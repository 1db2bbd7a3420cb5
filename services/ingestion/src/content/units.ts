import { countTokens, splitSentences } from "./tokens.js";
import type { Block, ExtractedDocument } from "./types.js";

const BLOCK_SEPARATOR = "\n\n";
const PATH_SEPARATOR = " > ";

// The smallest piece of text the packer moves around. `sep` is the whitespace that preceded
// it in the source; because whitespace costs no tokens, a chunk's count is the sum of its
// units' counts, which is what lets the packer enforce maxTokens by addition.
export interface Unit {
  text: string;
  tokens: number;
  sep: string;
  path: string;
  heading: boolean;
}

interface Piece {
  text: string;
  sep: string;
}

/**
 * Cuts a whitespace-free string into pieces of at most `max` tokens. Counting is monotone in
 * prefix length, so a binary search finds each cut; every code point costs at least 1/4 token
 * and takes at most two code units, which bounds the search window.
 */
export function hardSplit(word: string, max: number): string[] {
  const pieces: string[] = [];
  const window = 8 * max + 2;
  let rest = word;
  while (rest.length > 0) {
    if (rest.length <= window && countTokens(rest) <= max) {
      pieces.push(rest);
      break;
    }
    let lo = 1;
    let hi = Math.min(rest.length, window);
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (countTokens(rest.slice(0, mid)) <= max) lo = mid;
      else hi = mid - 1;
    }
    const low = rest.charCodeAt(lo);
    if (low >= 0xdc00 && low <= 0xdfff) lo = lo > 1 ? lo - 1 : 2;
    pieces.push(rest.slice(0, lo));
    rest = rest.slice(lo);
  }
  return pieces;
}

// Greedily packs the words of an over-long sentence into pieces that fit.
function splitWords(piece: Piece, max: number, out: Piece[]): void {
  let text = "";
  let tokens = 0;
  let sep = piece.sep;
  const emit = (): void => {
    if (text.length > 0) out.push({ text, sep });
    sep = " ";
    text = "";
    tokens = 0;
  };
  for (const word of piece.text.split(/\s+/)) {
    if (word.length === 0) continue;
    const cost = countTokens(word);
    if (cost > max) {
      emit();
      for (const part of hardSplit(word, max)) {
        out.push({ text: part, sep });
        sep = " ";
      }
      continue;
    }
    if (tokens + cost > max) emit();
    text = text.length > 0 ? `${text} ${word}` : word;
    tokens += cost;
  }
  emit();
}

function sentencePieces(text: string, sep: string): Piece[] {
  return splitSentences(text).map((sentence, i) => ({ text: sentence, sep: i === 0 ? sep : " " }));
}

function linePieces(text: string): Piece[] {
  const pieces: Piece[] = [];
  let newlines = 0;
  for (const line of text.split("\n")) {
    const trimmed = line.trimEnd();
    newlines++;
    if (trimmed.trim().length === 0) continue;
    pieces.push({
      text: trimmed,
      sep: pieces.length === 0 ? BLOCK_SEPARATOR : "\n".repeat(newlines),
    });
    newlines = 0;
  }
  return pieces;
}

// Lines are the natural boundaries of lists, tables and code; prose breaks at sentences.
function blockUnits(block: Block, max: number, path: string): Unit[] {
  const byLine = block.kind === "list" || block.kind === "table" || block.kind === "code";
  const first = byLine ? linePieces(block.text) : sentencePieces(block.text, BLOCK_SEPARATOR);
  const units: Unit[] = [];
  const heading = block.kind === "heading";
  const push = (piece: Piece, tokens: number): void => {
    units.push({ text: piece.text, tokens, sep: piece.sep, path, heading });
  };
  for (const piece of first) {
    const tokens = countTokens(piece.text);
    if (tokens <= max) {
      push(piece, tokens);
      continue;
    }
    const second =
      byLine && block.kind !== "code" ? sentencePieces(piece.text, piece.sep) : [piece];
    for (const sentence of second) {
      const sentenceTokens = countTokens(sentence.text);
      if (sentenceTokens <= max) {
        push(sentence, sentenceTokens);
        continue;
      }
      const words: Piece[] = [];
      splitWords(sentence, max, words);
      for (const word of words) push(word, countTokens(word.text));
    }
  }
  return units;
}

// Groups blocks so that headings always travel with the block that follows them. A generator,
// so that a chunk limit stops the work before the rest of the document is split.
export function* buildGroups(
  doc: ExtractedDocument,
  title: string,
  max: number,
): Generator<Unit[]> {
  const stack: { level: number; text: string }[] = [];
  const root = title.replace(/\s+/g, " ").trim();
  const pathOf = (): string =>
    [root, ...stack.map((h) => h.text)].filter((part) => part.length > 0).join(PATH_SEPARATOR);
  let pending: Unit[] = [];
  for (const block of doc.blocks) {
    if (block.text.trim().length === 0) continue;
    if (block.kind === "heading") {
      const level = block.level ?? 1;
      while (stack.length > 0 && (stack.at(-1)?.level ?? 0) >= level) stack.pop();
      stack.push({ level, text: block.text.replace(/\s+/g, " ").trim() });
      pending.push(...blockUnits(block, max, pathOf()));
      continue;
    }
    const units = blockUnits(block, max, pathOf());
    if (units.length === 0) continue;
    yield [...pending, ...units];
    pending = [];
  }
  if (pending.length > 0) yield pending;
}

/**
 * Cuts the front of a unit so that it costs at most `budget` tokens, at a word boundary when
 * one fits, else inside the first word. Returns undefined when not even one character fits.
 */
export function splitUnit(unit: Unit, budget: number): [Unit, Unit] | undefined {
  const words = unit.text.split(/\s+/).filter((w) => w.length > 0);
  let used = 0;
  let k = 0;
  while (k < words.length) {
    const cost = countTokens(words[k] ?? "");
    if (used + cost > budget) break;
    used += cost;
    k++;
  }
  let head: string;
  let tail: string;
  if (k > 0) {
    head = words.slice(0, k).join(" ");
    tail = words.slice(k).join(" ");
  } else {
    const first = words[0] ?? "";
    head = budget > 0 ? (hardSplit(first, budget)[0] ?? "") : "";
    tail = [first.slice(head.length), ...words.slice(1)].filter((w) => w.length > 0).join(" ");
  }
  if (head.length === 0 || tail.length === 0) return undefined;
  return [
    { ...unit, text: head, tokens: countTokens(head) },
    { ...unit, text: tail, tokens: countTokens(tail), sep: " " },
  ];
}
