import { Parser } from "htmlparser2";
import { OutputBudget, resolveLimits } from "./limits.js";
import type { Block, BlockKind } from "./types.js";

// Elements whose content is never reading text. <head> itself is not listed: a missing
// </head> would otherwise swallow the whole body; its children (title, style…) are.
const SKIPPED = new Set([
  "script",
  "style",
  "noscript",
  "template",
  "title",
  "svg",
  "math",
  "iframe",
  "object",
  "canvas",
  "select",
  "button",
]);

// Elements that end the current run of inline text.
const BLOCK_ELEMENTS = new Set([
  "address",
  "article",
  "aside",
  "blockquote",
  "body",
  "caption",
  "center",
  "dd",
  "details",
  "dialog",
  "dir",
  "div",
  "dl",
  "dt",
  "fieldset",
  "figcaption",
  "figure",
  "footer",
  "form",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "header",
  "hgroup",
  "hr",
  "html",
  "legend",
  "li",
  "main",
  "menu",
  "nav",
  "ol",
  "p",
  "pre",
  "section",
  "summary",
  "table",
  "tbody",
  "td",
  "tfoot",
  "th",
  "thead",
  "tr",
  "ul",
]);

const LISTS = new Set(["ul", "ol", "menu", "dir", "dl"]);
const HEADING = /^h([1-6])$/;

function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

interface TableState {
  rows: string[];
  cells: string[];
}

/**
 * Extracts reading text from HTML, tolerating malformed markup the way browsers do. The budget
 * bounds the text produced (list indentation grows with depth) and the nesting of lists,
 * tables and quotes.
 */
export function extractHtml(
  html: string,
  budget = new OutputBudget("text/html", Buffer.byteLength(html, "utf8"), resolveLimits()),
): Block[] {
  const blocks: Block[] = [];
  let buf = "";
  let skipDepth = 0;
  let preDepth = 0;
  let quoteDepth = 0;
  let headingLevel = 0;
  let headingDepth = 0;
  let listDepth = 0;
  let listLines: string[] = [];
  const tables: TableState[] = [];

  // List lines are counted as they are made; everything else when it is emitted.
  const emit = (kind: BlockKind, text: string, level?: number): void => {
    if (text.length === 0) return;
    if (kind !== "list") budget.spend(text);
    blocks.push(level === undefined ? { kind, text } : { kind, text, level });
  };

  // Moves buffered inline text into whichever container currently receives it.
  const flush = (): void => {
    const raw = buf;
    buf = "";
    const table = tables.at(-1);
    if (table) {
      const cell = collapse(raw);
      if (cell.length > 0) table.cells.push(cell);
      return;
    }
    if (listDepth > 0) {
      const item = collapse(raw);
      if (item.length > 0) listLine(item);
      return;
    }
    if (preDepth > 0) {
      emit("code", raw.replace(/^\r?\n/, "").trimEnd());
      return;
    }
    const text = collapse(raw);
    if (headingDepth > 0) emit("heading", text, headingLevel);
    else emit(quoteDepth > 0 ? "quote" : "paragraph", text);
  };

  const listLine = (text: string): void => {
    const line = `${"  ".repeat(listDepth - 1)}${text}`;
    budget.spend(line);
    listLines.push(line);
  };

  const endRow = (table: TableState): void => {
    if (table.cells.length > 0) table.rows.push(table.cells.join(" | "));
    table.cells = [];
  };

  const parser = new Parser(
    {
      onopentag(name) {
        if (skipDepth > 0 || SKIPPED.has(name)) {
          skipDepth++;
          return;
        }
        if (name === "br") {
          if (preDepth > 0) buf += "\n";
          else if (tables.length > 0 || listDepth > 0) buf += " ";
          else flush();
          return;
        }
        if (!BLOCK_ELEMENTS.has(name)) return;
        flush();
        const heading = HEADING.exec(name);
        if (heading) {
          if (headingDepth === 0) headingLevel = Number(heading[1]);
          headingDepth++;
        } else if (name === "pre") preDepth++;
        else if (name === "blockquote") budget.checkDepth(++quoteDepth, "quotes");
        else if (name === "table") {
          tables.push({ rows: [], cells: [] });
          budget.checkDepth(tables.length, "tables");
        } else if (LISTS.has(name) && tables.length === 0) budget.checkDepth(++listDepth, "lists");
      },
      onclosetag(name) {
        if (skipDepth > 0) {
          skipDepth--;
          return;
        }
        if (!BLOCK_ELEMENTS.has(name)) return;
        flush();
        if (HEADING.test(name)) headingDepth = Math.max(0, headingDepth - 1);
        else if (name === "pre") preDepth = Math.max(0, preDepth - 1);
        else if (name === "blockquote") quoteDepth = Math.max(0, quoteDepth - 1);
        else if (name === "tr") {
          const table = tables.at(-1);
          if (table) endRow(table);
        } else if (name === "table") {
          const table = tables.pop();
          if (!table) return;
          endRow(table);
          const text = table.rows.join("\n");
          // A nested table becomes one cell of its parent rather than a separate block.
          const parent = tables.at(-1);
          if (parent) {
            if (text.length > 0) parent.cells.push(collapse(text));
          } else if (listDepth > 0) {
            if (text.length > 0) listLine(collapse(text));
          } else emit("table", text);
        } else if (LISTS.has(name) && tables.length === 0 && listDepth > 0) {
          listDepth--;
          if (listDepth === 0) {
            emit("list", listLines.join("\n"));
            listLines = [];
          }
        }
      },
      ontext(text) {
        if (skipDepth === 0) buf += text;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, recognizeSelfClosing: true },
  );
  parser.write(html);
  parser.end();
  flush();
  if (listLines.length > 0) emit("list", listLines.join("\n"));
  return blocks;
}
