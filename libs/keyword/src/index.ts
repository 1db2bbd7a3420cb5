export { analyze, ENGLISH_STOP_WORDS } from "./analyzer.js";
export {
  DEFAULT_BM25,
  DEFAULT_RM3,
  KeywordIndex,
  type KeywordQuery,
  type Rm3Options,
} from "./keyword-index.js";
export type { Bm25Params, KeywordDocument, KeywordFilter, KeywordHit } from "./tenant-index.js";
