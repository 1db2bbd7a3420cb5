// Test fixtures: tiny models written from seeded weights and plain-TypeScript reference
// implementations to check ONNX Runtime against. Imported as @tailor/models/testing, never by
// production code.

export {
  BERT_SPECIAL_TOKENS,
  buildWordPieceTokenizerJson,
  TINY_WORDS,
  type WordPieceJsonOptions,
  type WordPieceTokenizerJson,
  wordPieceTokenizerConfig,
} from "../hf/wordpiece-json.js";
export * from "../llama/index.js";
export {
  BERT_LAYER_NORM_EPS,
  BERT_MASK_BIAS,
  type BertHead,
  type BertLayerWeights,
  type BertShape,
  type BertWeights,
  buildTinyBert,
  seededNormal,
  type TinyBert,
  type TinyBertOptions,
} from "./bert-onnx.js";
export {
  l2Normalize,
  type ReferenceBertOutput,
  referenceBert,
  referenceLinear,
  referencePool,
  referenceSigmoid,
  referenceSoftmax,
} from "./bert-reference.js";
export { buildMiniLmShaped, MINILM_SHAPE, type MiniLmOptions } from "./minilm.js";
export {
  type TestEncoderKind,
  TINY_BERT_DEFAULTS,
  type WriteAdapterFolderOptions,
  type WriteModelFolderOptions,
  type WrittenAdapterFolder,
  type WrittenModelFolder,
  writeAdapterFolder,
  writeModelFolder,
} from "./write-model-folder.js";
