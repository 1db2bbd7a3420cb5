export { chunkDocument, DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP_TOKENS } from "./chunker.js";
export {
  InvalidChunkOptionsError,
  InvalidContentError,
  isInvalidContentError,
  isUnsupportedContentTypeError,
  UnsupportedContentTypeError,
} from "./errors.js";
export { extractText, normalizeContentType } from "./extract.js";
export type { ContentLimits } from "./limits.js";
export { countTokens, splitSentences } from "./tokens.js";
export type {
  Block,
  BlockKind,
  ChunkOptions,
  ChunkText,
  ExtractedDocument,
} from "./types.js";
