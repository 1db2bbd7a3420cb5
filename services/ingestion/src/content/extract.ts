import { ContentLimitError, InvalidContentError, UnsupportedContentTypeError } from "./errors.js";
import { extractHtml } from "./html.js";
import { type ContentLimits, OutputBudget, resolveLimits } from "./limits.js";
import { extractMarkdown } from "./markdown.js";
import { extractPlain } from "./plain.js";
import type { Block, ExtractedDocument } from "./types.js";

type Format = "plain" | "markdown" | "html" | "json";

const FORMATS: Record<string, Format> = {
  "": "plain",
  "text/plain": "plain",
  "text/markdown": "markdown",
  "text/x-markdown": "markdown",
  "text/html": "html",
  "application/xhtml+xml": "html",
  "application/json": "json",
  "text/json": "json",
};

/** Maps a Content-Type header value to a supported format, ignoring case and parameters. */
export function normalizeContentType(contentType: string): string {
  return (contentType.split(";", 1)[0] ?? "").trim().toLowerCase();
}

function formatOf(contentType: string): Format {
  const mime = normalizeContentType(contentType);
  const format = FORMATS[mime];
  if (format) return format;
  // Structured-syntax suffix (RFC 6839), e.g. application/ld+json.
  if (/^[a-z]+\/[^\s/]+\+json$/.test(mime)) return "json";
  throw new UnsupportedContentTypeError(contentType);
}

function scalarText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null) return "null";
  return String(value);
}

// JSON.parse has no depth limit of its own, so the depth is checked on the raw text first.
function checkJsonDepth(body: string, budget: OutputBudget): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) budget.checkDepth(++depth, "arrays and objects");
    else if (c === 0x7d || c === 0x5d) depth--;
  }
}

// One block per leaf, "path: value", so chunk boundaries fall between fields, never inside a
// key. Every line repeats its whole path, hence the budget on each line.
function flattenJson(value: unknown, path: string, blocks: Block[], budget: OutputBudget): void {
  if (Array.isArray(value)) {
    if (value.length === 0) leaf(`${path}: []`, blocks, budget);
    for (const [i, item] of value.entries()) flattenJson(item, `${path}[${i}]`, blocks, budget);
    return;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0 && path) leaf(`${path}: {}`, blocks, budget);
    const maxKey = budget.limits.maxJsonKeyBytes;
    for (const [key, child] of entries) {
      // A UTF-16 unit takes at most 3 UTF-8 bytes, so short keys skip the byte count.
      if (key.length * 3 > maxKey && Buffer.byteLength(key, "utf8") > maxKey)
        throw new ContentLimitError(
          budget.contentType,
          "maxJsonKeyBytes",
          maxKey,
          `an object key at ${path || "the top level"} is longer than ${maxKey} bytes`,
        );
      flattenJson(child, path ? `${path}.${key}` : key, blocks, budget);
    }
    return;
  }
  leaf(path ? `${path}: ${scalarText(value)}` : scalarText(value), blocks, budget);
}

function leaf(text: string, blocks: Block[], budget: OutputBudget): void {
  if (text.trim().length === 0) return;
  budget.spend(text);
  blocks.push({ kind: "paragraph", text });
}

function extractJson(body: string, budget: OutputBudget): Block[] {
  checkJsonDepth(body, budget);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    // V8's message quotes the body; say where it failed without repeating document text.
    const at = err instanceof Error ? /position (\d+)/.exec(err.message)?.[1] : undefined;
    throw new InvalidContentError(
      budget.contentType,
      at === undefined ? "not valid JSON" : `not valid JSON at position ${at}`,
      { cause: err },
    );
  }
  const blocks: Block[] = [];
  flattenJson(value, "", blocks, budget);
  return blocks;
}

/**
 * Turns a document body into plain-text blocks according to its content type.
 * Throws UnsupportedContentTypeError, or InvalidContentError (ContentLimitError as soon as the
 * text produced passes one of `limits`).
 */
export function extractText(
  contentType: string,
  body: string,
  limits: Partial<ContentLimits> = {},
): ExtractedDocument {
  const format = formatOf(contentType);
  const text = body.startsWith("\ufeff") ? body.slice(1) : body;
  const budget = new OutputBudget(
    normalizeContentType(contentType),
    Buffer.byteLength(text, "utf8"),
    resolveLimits(limits),
  );
  switch (format) {
    case "plain":
      return { blocks: extractPlain(text, budget) };
    case "markdown":
      return { blocks: extractMarkdown(text, budget) };
    case "html":
      return { blocks: extractHtml(text, budget) };
    case "json":
      return { blocks: extractJson(text, budget) };
    default: {
      const unreachable: never = format;
      throw new UnsupportedContentTypeError(String(unreachable));
    }
  }
}
