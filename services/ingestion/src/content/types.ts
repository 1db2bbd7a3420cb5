export type BlockKind = "heading" | "paragraph" | "list" | "code" | "table" | "quote";

/** One structural unit of extracted text; `level` is set for headings (1–6). */
export interface Block {
  kind: BlockKind;
  text: string;
  level?: number;
}

/** Plain text of a document, in reading order, without markup. */
export interface ExtractedDocument {
  blocks: Block[];
}

export interface ChunkOptions {
  /** Upper bound on every chunk's token count. */
  maxTokens: number;
  /** Budget for whole sentences repeated from the end of the previous chunk. */
  overlapTokens: number;
  /** Chunks smaller than this are topped up from the next block instead of being closed. */
  minTokens?: number;
  /** Most chunks per document; more is a ContentLimitError. */
  maxChunks?: number;
}

export interface ChunkText {
  index: number;
  text: string;
  tokenCount: number;
  /** Title and heading path in effect where the chunk's own content starts, joined with " > ". */
  heading?: string;
}
