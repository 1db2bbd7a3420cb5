export {
  detectModelKind,
  type HfFolder,
  type HfModelConfig,
  type HfTokenizerConfig,
  hfModelConfigSchema,
  isModelLoadError,
  loadHfFolder,
  type ModelKind,
  ModelLoadError,
  type PoolingMode,
} from "./hf-folder.js";
export {
  type EncodeBatchOptions,
  type EncodedRow,
  type HfEncodedBatch,
  HfTokenizer,
  type HfTokenizerOptions,
  longestFirst,
} from "./hf-tokenizer.js";
export { l2NormalizeInPlace, poolTokenVectors, sigmoid, softmax } from "./pooling.js";
