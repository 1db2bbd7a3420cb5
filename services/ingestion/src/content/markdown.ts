import { decodeHTMLStrict } from "entities";
import { Lexer, marked, type Token, type Tokens } from "marked";
import { InvalidContentError } from "./errors.js";
import { extractHtml } from "./html.js";
import { OutputBudget, resolveLimits } from "./limits.js";
import { sectionCost, sectionRanges } from "./markdown-sections.js";
import { extractPlain } from "./plain.js";
import type { Block, BlockKind } from "./types.js";

// marked leaves character references in text tokens for its HTML renderer to pass through;
// plain text needs them resolved. Strict: like CommonMark, only references ending in ';'.
const decodeEntities = (text: string): string =>
  text.includes("&") ? decodeHTMLStrict(text) : text;

function inlineText(tokens: readonly Token[] | undefined): string {
  if (!tokens) return "";
  let out = "";
  for (const token of tokens) {
    switch (token.type) {
      case "text":
      case "escape":
        out +=
          "tokens" in token && token.tokens ? inlineText(token.tokens) : decodeEntities(token.text);
        break;
      case "codespan":
        out += token.text;
        break;
      case "image":
        out += decodeEntities(token.text);
        break;
      case "br":
        out += "\n";
        break;
      case "html":
      case "checkbox":
        break;
      default:
        // Emphasis, links, strikethrough and extension tokens: keep their visible text.
        if ("tokens" in token && token.tokens) out += inlineText(token.tokens);
        else if ("text" in token && typeof token.text === "string")
          out += decodeEntities(token.text);
    }
  }
  return out;
}

function listLines(list: Tokens.List, depth: number, lines: string[], budget: OutputBudget): void {
  const indent = "  ".repeat(depth);
  for (const item of list.items) {
    const parts: string[] = [];
    const nested: Tokens.List[] = [];
    for (const child of item.tokens) {
      if (child.type === "list") nested.push(child as Tokens.List);
      else if (child.type === "code") parts.push((child as Tokens.Code).text);
      else if (child.type !== "space") {
        const inner = "tokens" in child && child.tokens ? child.tokens : [child];
        parts.push(inlineText(inner).trim());
      }
    }
    const text = parts.filter((p) => p.length > 0).join(" ");
    if (text.length > 0) {
      const line = `${indent}${text.replace(/\s*\n\s*/g, " ")}`;
      budget.spend(line);
      lines.push(line);
    }
    for (const sub of nested) listLines(sub, depth + 1, lines, budget);
  }
}

// Receives the blocks of one container; inside a blockquote every block becomes a quote.
interface Sink {
  budget: OutputBudget;
  quote: boolean;
  blocks: Block[];
}

function add(sink: Sink, kind: BlockKind, text: string, level?: number, counted = false): void {
  if (!counted) sink.budget.spend(text);
  if (sink.quote) sink.blocks.push({ kind: "quote", text });
  else sink.blocks.push(level === undefined ? { kind, text } : { kind, text, level });
}

function walk(tokens: readonly Token[], sink: Sink): void {
  for (const token of tokens) {
    switch (token.type) {
      case "heading": {
        const text = inlineText(token.tokens).trim();
        if (text) add(sink, "heading", text, token.depth);
        break;
      }
      case "paragraph":
      case "text": {
        const text = inlineText(token.tokens ?? [token]).trim();
        if (text) add(sink, "paragraph", text);
        break;
      }
      case "code": {
        const text = token.text.replace(/\s+$/, "");
        if (text) add(sink, "code", text);
        break;
      }
      case "list": {
        const lines: string[] = [];
        listLines(token as Tokens.List, 0, lines, sink.budget);
        if (lines.length > 0) add(sink, "list", lines.join("\n"), undefined, true);
        break;
      }
      case "table": {
        const table = token as Tokens.Table;
        const rows = [table.header, ...table.rows]
          .map((row) => row.map((cell) => inlineText(cell.tokens).trim()).join(" | "))
          .filter((row) => row.replace(/[\s|]/g, "").length > 0);
        if (rows.length > 0) add(sink, "table", rows.join("\n"));
        break;
      }
      case "blockquote":
        walk(token.tokens ?? [], { ...sink, quote: true });
        break;
      case "html":
        for (const block of extractHtml(token.text, sink.budget))
          add(sink, block.kind, block.text, block.level, true);
        break;
      default:
        // space, hr, def: no reading text.
        break;
    }
  }
}

const LIST_MARKER = /^(?:[-+*]|\d{1,9}[.)])(?=[ \t]|$)/;

/**
 * An upper bound on the container nesting (quotes and list items) that a line opens: its
 * markers, plus two columns of indentation before its last marker per enclosing list item.
 * marked recurses once per level and slows down sharply on deep nesting, so this is checked
 * before it runs. Lines without markers open no container and count nothing.
 */
export function markdownDepth(markdown: string): number {
  let max = 0;
  let start = 0;
  while (start < markdown.length) {
    let end = markdown.indexOf("\n", start);
    if (end < 0) end = markdown.length;
    let i = start;
    let markers = 0;
    let columns = 0;
    let counted = 0;
    while (i < end) {
      const c = markdown.charCodeAt(i);
      if (c === 0x20) {
        columns++;
        i++;
      } else if (c === 0x09) {
        columns += 4 - (columns % 4);
        i++;
      } else {
        const marker = c === 0x3e ? ">" : LIST_MARKER.exec(markdown.slice(i, i + 11))?.[0];
        if (!marker) break;
        markers++;
        counted = columns;
        i += marker.length;
        // The one space after a marker belongs to it, not to the indentation.
        if (markdown.charCodeAt(i) === 0x20) i++;
      }
    }
    max = Math.max(max, markers + Math.floor(counted / 2));
    start = end + 1;
  }
  return max;
}

/** Longest section marked parses; a longer one is extracted as plain text. */
export const MAX_SECTION_CHARS = 64 * 1024;
/**
 * Parse cost (see sectionCost) marked may spend on one document; later sections are plain
 * text. One unit is at most ~0.3 µs of marked's time on the shapes measured, so this is
 * about a second on the worst of them, and several megabytes of ordinary prose.
 */
export const MAX_PARSE_COST = 2_000_000;
/** Longest run of one emphasis delimiter accepted; more is refused as nesting too deep. */
export const MAX_DELIMITER_RUN = 1024;

function longestDelimiterRun(markdown: string): number {
  let longest = 0;
  for (const match of markdown.matchAll(/\*{64,}|_{64,}/g))
    longest = Math.max(longest, match[0].length);
  return longest;
}

/** What extractMarkdownSections did: for tests and metrics. */
export interface MarkdownStats {
  sections: number;
  /** Characters parsed by marked, all sections together. */
  parsedChars: number;
  /** Sum of sectionCost over the sections parsed by marked. */
  parseCost: number;
  /** Longest section parsed by marked. */
  largestParsed: number;
  /** Sections extracted as plain text: too large, or past the document's parse budget. */
  plainSections: number;
}

type Segment = { tokens: Token[] } | { from: number; to: number };

/** extractMarkdown, also reporting how the body was split between marked and plain text. */
export function extractMarkdownSections(
  markdown: string,
  budget: OutputBudget,
): { blocks: Block[]; stats: MarkdownStats } {
  budget.checkDepth(markdownDepth(markdown), "quotes and lists");
  if (longestDelimiterRun(markdown) > MAX_DELIMITER_RUN)
    throw new InvalidContentError(budget.contentType, "nesting too deep");
  const text = markdown.replace(/\r\n|\r/g, "\n");
  const stats: MarkdownStats = {
    sections: 0,
    parsedChars: 0,
    parseCost: 0,
    largestParsed: 0,
    plainSections: 0,
  };
  // One lexer for all sections, blocks first and inlines after, as marked.lexer does, so
  // that a reference link resolves against definitions in any section.
  const lexer = new Lexer(marked.defaults);
  const segments: Segment[] = [];
  const blocks: Block[] = [];
  try {
    // Once a section does not fit the budget, the rest of the body is plain text: the cost
    // of what follows is not even computed, and the structure parsed is a prefix.
    let exhausted = false;
    for (const [from, to] of sectionRanges(text)) {
      stats.sections++;
      const cost =
        exhausted || to - from > MAX_SECTION_CHARS ? Infinity : sectionCost(text.slice(from, to));
      if (stats.parseCost + cost > MAX_PARSE_COST) {
        exhausted = true;
        stats.plainSections++;
        // Consecutive plain sections are joined: plain text splits at blank lines anyway.
        const last = segments.at(-1);
        if (last && "to" in last && last.to === from) last.to = to;
        else segments.push({ from, to });
        continue;
      }
      stats.parseCost += cost;
      stats.parsedChars += to - from;
      stats.largestParsed = Math.max(stats.largestParsed, to - from);
      segments.push({ tokens: lexer.blockTokens(text.slice(from, to), []) });
    }
    for (const next of lexer.inlineQueue) {
      lexer.state.inRawBlock = false;
      lexer.inlineTokens(next.src, next.tokens);
    }
    lexer.inlineQueue = [];
    for (const segment of segments) {
      // A plain segment can hold millions of paragraphs: too many to spread into push().
      if ("to" in segment)
        for (const block of extractPlain(text.slice(segment.from, segment.to), budget))
          blocks.push(block);
      else walk(segment.tokens, { budget, quote: false, blocks });
    }
  } catch (err) {
    // Inline nesting (links in emphasis in links…) can still exhaust marked's stack.
    if (err instanceof RangeError)
      throw new InvalidContentError(budget.contentType, "nesting too deep", { cause: err });
    throw err;
  }
  return { blocks, stats };
}

/** Extracts structured plain text from Markdown (CommonMark + GFM tables). */
export function extractMarkdown(
  markdown: string,
  budget = new OutputBudget("text/markdown", Buffer.byteLength(markdown, "utf8"), resolveLimits()),
): Block[] {
  return extractMarkdownSections(markdown, budget).blocks;
}
