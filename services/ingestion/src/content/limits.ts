import { ContentLimitError } from "./errors.js";

/**
 * Bounds on what extraction and chunking produce from one document. The input size limit
 * alone is not enough: JSON repeats every key path on each leaf, and nested lists indent
 * every line, so a small body can expand a thousandfold.
 */
export interface ContentLimits {
  /** Most UTF-8 bytes of extracted text per document, whatever its size. */
  maxExtractedBytes: number;
  /** Most extracted bytes per body byte; bodies under 64 KiB count as 64 KiB. */
  maxExpansion: number;
  /** Most chunks per document. */
  maxChunks: number;
  /** Deepest nesting of JSON arrays and objects, HTML lists, tables and quotes, Markdown containers. */
  maxDepth: number;
  /** Longest JSON object key, in UTF-8 bytes. */
  maxJsonKeyBytes: number;
}

export const DEFAULT_CONTENT_LIMITS: Readonly<ContentLimits> = {
  maxExtractedBytes: 40 * 1024 * 1024,
  maxExpansion: 16,
  maxChunks: 20_000,
  maxDepth: 64,
  maxJsonKeyBytes: 1024,
};

/** Body size below which maxExpansion does not shrink the budget further. */
const EXPANSION_FLOOR_BYTES = 64 * 1024;

/** Fills unset (or undefined) limits with the defaults. */
export function resolveLimits(limits: Partial<ContentLimits> = {}): ContentLimits {
  const out = { ...DEFAULT_CONTENT_LIMITS };
  for (const key of Object.keys(out) as (keyof ContentLimits)[]) {
    const value = limits[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * Counts the text an extractor produces and throws ContentLimitError the moment the total
 * passes the budget, so a hostile body is refused before its expansion is ever built.
 */
export class OutputBudget {
  private used = 0;
  readonly bytes: number;
  private readonly binding: "maxExtractedBytes" | "maxExpansion";

  constructor(
    readonly contentType: string,
    bodyBytes: number,
    readonly limits: ContentLimits,
  ) {
    const byExpansion = limits.maxExpansion * Math.max(bodyBytes, EXPANSION_FLOOR_BYTES);
    this.binding = byExpansion < limits.maxExtractedBytes ? "maxExpansion" : "maxExtractedBytes";
    this.bytes = Math.min(byExpansion, limits.maxExtractedBytes);
  }

  /** Records `text` as produced. */
  spend(text: string): void {
    this.used += Buffer.byteLength(text, "utf8");
    if (this.used <= this.bytes) return;
    throw this.binding === "maxExpansion"
      ? new ContentLimitError(
          this.contentType,
          "maxExpansion",
          this.limits.maxExpansion,
          `extracted text passes ${this.bytes} bytes, ${this.limits.maxExpansion} times the body`,
        )
      : new ContentLimitError(
          this.contentType,
          "maxExtractedBytes",
          this.limits.maxExtractedBytes,
          `extracted text passes ${this.bytes} bytes`,
        );
  }

  /** Throws when a nesting level passes maxDepth. */
  checkDepth(depth: number, what: string): void {
    if (depth > this.limits.maxDepth)
      throw new ContentLimitError(
        this.contentType,
        "maxDepth",
        this.limits.maxDepth,
        `${what} nested deeper than ${this.limits.maxDepth} levels`,
      );
  }
}
