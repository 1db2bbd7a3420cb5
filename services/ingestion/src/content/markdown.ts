import { marked, type Token, type Tokens } from "marked";
import { extractHtml } from "./html.js";
import type { Block } from "./types.js";

const NAMED_ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
  copy: "©",
  reg: "®",
  trade: "™",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
};

// marked leaves character references in text tokens for its HTML renderer to pass through;
// plain text needs them resolved.
function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref.startsWith("#")) {
      const cp =
        ref[1] === "x" || ref[1] === "X" ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
      return Number.isInteger(cp) && cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
    }
    return NAMED_ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

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

function listLines(list: Tokens.List, depth: number, lines: string[]): void {
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
    if (text.length > 0) lines.push(`${indent}${text.replace(/\s*\n\s*/g, " ")}`);
    for (const sub of nested) listLines(sub, depth + 1, lines);
  }
}

function walk(tokens: readonly Token[], blocks: Block[]): void {
  for (const token of tokens) {
    switch (token.type) {
      case "heading": {
        const text = inlineText(token.tokens).trim();
        if (text) blocks.push({ kind: "heading", text, level: token.depth });
        break;
      }
      case "paragraph":
      case "text": {
        const text = inlineText(token.tokens ?? [token]).trim();
        if (text) blocks.push({ kind: "paragraph", text });
        break;
      }
      case "code": {
        const text = token.text.replace(/\s+$/, "");
        if (text) blocks.push({ kind: "code", text });
        break;
      }
      case "list": {
        const lines: string[] = [];
        listLines(token as Tokens.List, 0, lines);
        if (lines.length > 0) blocks.push({ kind: "list", text: lines.join("\n") });
        break;
      }
      case "table": {
        const table = token as Tokens.Table;
        const rows = [table.header, ...table.rows]
          .map((row) => row.map((cell) => inlineText(cell.tokens).trim()).join(" | "))
          .filter((row) => row.replace(/[\s|]/g, "").length > 0);
        if (rows.length > 0) blocks.push({ kind: "table", text: rows.join("\n") });
        break;
      }
      case "blockquote": {
        const inner: Block[] = [];
        walk(token.tokens ?? [], inner);
        for (const block of inner) blocks.push({ kind: "quote", text: block.text });
        break;
      }
      case "html":
        blocks.push(...extractHtml(token.text));
        break;
      default:
        // space, hr, def: no reading text.
        break;
    }
  }
}

/** Extracts structured plain text from Markdown (CommonMark + GFM tables). */
export function extractMarkdown(markdown: string): Block[] {
  const blocks: Block[] = [];
  walk(marked.lexer(markdown), blocks);
  return blocks;
}
