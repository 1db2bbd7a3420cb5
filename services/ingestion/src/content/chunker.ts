import { ContentLimitError, InvalidChunkOptionsError } from "./errors.js";
import { DEFAULT_CONTENT_LIMITS } from "./limits.js";
import { countTokens } from "./tokens.js";
import type { ChunkOptions, ChunkText, ExtractedDocument } from "./types.js";
import { buildGroups, splitUnit, type Unit } from "./units.js";

export const DEFAULT_MAX_TOKENS = 256;
export const DEFAULT_OVERLAP_TOKENS = 32;

function resolveOptions(options: Partial<ChunkOptions>): Required<ChunkOptions> {
  const maxChunks = options.maxChunks ?? DEFAULT_CONTENT_LIMITS.maxChunks;
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
  const overlapTokens = options.overlapTokens ?? DEFAULT_OVERLAP_TOKENS;
  const minTokens = options.minTokens ?? 0;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new InvalidChunkOptionsError(`maxTokens must be a positive integer, got ${maxTokens}`);
  }
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens >= maxTokens) {
    throw new InvalidChunkOptionsError(
      `overlapTokens must be an integer in [0, maxTokens), got ${overlapTokens}`,
    );
  }
  if (!Number.isInteger(minTokens) || minTokens < 0 || minTokens > maxTokens) {
    throw new InvalidChunkOptionsError(
      `minTokens must be an integer in [0, maxTokens], got ${minTokens}`,
    );
  }
  if (!Number.isInteger(maxChunks) || maxChunks < 1) {
    throw new InvalidChunkOptionsError(`maxChunks must be a positive integer, got ${maxChunks}`);
  }
  return { maxTokens, overlapTokens, minTokens, maxChunks };
}

interface Entry {
  unit: Unit;
  overlap: boolean;
}

function sumTokens(entries: readonly { tokens: number }[]): number {
  let total = 0;
  for (const e of entries) total += e.tokens;
  return total;
}

function render(entries: readonly Entry[]): string {
  let text = "";
  for (const [i, e] of entries.entries()) text += i === 0 ? e.unit.text : e.unit.sep + e.unit.text;
  return text;
}

/**
 * Splits an extracted document into chunks of at most `maxTokens` tokens, packing whole
 * blocks where possible and repeating trailing sentences of the previous chunk as overlap.
 * Throws ContentLimitError as soon as the document needs more than `maxChunks` chunks.
 */
export function chunkDocument(
  doc: ExtractedDocument,
  title: string,
  options: Partial<ChunkOptions> = {},
): ChunkText[] {
  const { maxTokens: max, overlapTokens, minTokens, maxChunks } = resolveOptions(options);
  const groups = buildGroups(doc, title, max);
  const chunks: Entry[][] = [];
  let cur: Entry[] = [];
  let curTokens = 0;
  let curContent = 0;

  const append = (unit: Unit, overlap = false): void => {
    cur.push({ unit, overlap });
    curTokens += unit.tokens;
    if (!overlap) curContent += unit.tokens;
  };
  const flush = (): void => {
    if (cur.some((e) => !e.overlap)) {
      if (chunks.length === maxChunks)
        throw new ContentLimitError(
          "",
          "maxChunks",
          maxChunks,
          `the document needs more than ${maxChunks} chunks`,
        );
      chunks.push(cur);
    }
    cur = [];
    curTokens = 0;
    curContent = 0;
  };
  // Overlap only continues a section: repeating the previous section's last sentences
  // under a new heading would blur what the chunk is about.
  const seedOverlap = (next: Unit, reserve: number): void => {
    const prev = chunks.at(-1);
    const budget = Math.min(overlapTokens, max - reserve);
    if (!prev || budget <= 0 || prev.at(-1)?.unit.path !== next.path) return;
    let start = prev.length;
    let total = 0;
    while (start > 0) {
      const unit = prev[start - 1]?.unit;
      if (!unit || unit.heading || total + unit.tokens > budget) break;
      total += unit.tokens;
      start--;
    }
    for (const e of prev.slice(start)) append(e.unit, true);
  };

  // Streams one unit into the current chunk, closing it first when the unit does not fit.
  const place = (first: Unit): void => {
    let unit = first;
    while (curTokens + unit.tokens > max) {
      let split = cur.length;
      while (split > 0 && cur[split - 1]?.unit.heading && !cur[split - 1]?.overlap) split--;
      const headings = cur.slice(split).map((e) => e.unit);
      const headingTokens = sumTokens(headings);
      const contentBefore = cur.slice(0, split).some((e) => !e.overlap);
      if (headings.length > 0 && contentBefore && headingTokens + unit.tokens <= max) {
        // Headings at the tail of a full chunk move on with the content they introduce.
        cur = cur.slice(0, split);
        curTokens -= headingTokens;
        curContent -= headingTokens;
        flush();
        for (const h of headings) append(h);
        break;
      }
      if (headings.length > 0) {
        // The headings cannot move with the whole unit, so the unit's front stays with them.
        const parts = splitUnit(unit, max - curTokens);
        if (parts) {
          append(parts[0]);
          unit = parts[1];
        }
      }
      flush();
      seedOverlap(unit, unit.tokens);
    }
    append(unit);
  };

  for (const group of groups) {
    const groupTokens = sumTokens(group);
    const head = group[0];
    if (!head) continue;
    if (curTokens + groupTokens <= max) {
      for (const unit of group) append(unit);
      continue;
    }
    if (groupTokens <= max && curContent >= minTokens) {
      flush();
      seedOverlap(head, groupTokens);
      for (const unit of group) append(unit);
      continue;
    }
    for (const unit of group) place(unit);
  }
  flush();

  return chunks.map((entries, index) => {
    const text = render(entries);
    const own = entries.find((e) => !e.overlap)?.unit.path ?? "";
    const chunk: ChunkText = { index, text, tokenCount: countTokens(text) };
    if (own.length > 0) chunk.heading = own;
    return chunk;
  });
}
