import { InvalidContentError, UnsupportedContentTypeError } from "./errors.js";
import { extractHtml } from "./html.js";
import { extractMarkdown } from "./markdown.js";
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

function extractPlain(text: string): Block[] {
  const blocks: Block[] = [];
  for (const part of text.replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/)) {
    const trimmed = part.trim();
    if (trimmed.length > 0) blocks.push({ kind: "paragraph", text: trimmed });
  }
  return blocks;
}

function scalarText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null) return "null";
  return String(value);
}

function flattenJson(value: unknown, path: string, lines: string[]): void {
  if (Array.isArray(value)) {
    if (value.length === 0) lines.push(`${path}: []`);
    value.forEach((item, i) => {
      flattenJson(item, `${path}[${i}]`, lines);
    });
    return;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0 && path) lines.push(`${path}: {}`);
    for (const [key, child] of entries) flattenJson(child, path ? `${path}.${key}` : key, lines);
    return;
  }
  lines.push(path ? `${path}: ${scalarText(value)}` : scalarText(value));
}

function extractJson(contentType: string, body: string): Block[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw new InvalidContentError(
      normalizeContentType(contentType),
      err instanceof Error ? err.message : "unparseable JSON",
      { cause: err },
    );
  }
  const lines: string[] = [];
  try {
    flattenJson(value, "", lines);
  } catch (err) {
    // Pathologically deep nesting exhausts the stack; report it as bad input, not a crash.
    if (err instanceof RangeError) {
      throw new InvalidContentError(normalizeContentType(contentType), "nesting too deep", {
        cause: err,
      });
    }
    throw err;
  }
  // One block per line so chunk boundaries fall between fields, never inside a key.
  return lines
    .filter((line) => line.trim().length > 0)
    .map((text) => ({ kind: "paragraph", text }));
}

/**
 * Turns a document body into plain-text blocks according to its content type.
 * Throws UnsupportedContentTypeError or InvalidContentError.
 */
export function extractText(contentType: string, body: string): ExtractedDocument {
  const format = formatOf(contentType);
  const text = body.startsWith("\ufeff") ? body.slice(1) : body;
  switch (format) {
    case "plain":
      return { blocks: extractPlain(text) };
    case "markdown":
      return { blocks: extractMarkdown(text) };
    case "html":
      return { blocks: extractHtml(text) };
    case "json":
      return { blocks: extractJson(contentType, text) };
    default: {
      const unreachable: never = format;
      throw new UnsupportedContentTypeError(String(unreachable));
    }
  }
}
