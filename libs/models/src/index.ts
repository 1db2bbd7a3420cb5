export {
  type BuildGloveModelOptions,
  buildGloveModel,
  GLOVE_BUILDER_VERSION,
  GLOVE_MODEL_NAME,
  type GloveModelConfig,
  type GloveModelFiles,
  loadWinkEmbeddings,
  type WinkEmbeddings,
} from "./glove-onnx.js";
export * from "./hf/index.js";
export { buildMeanPoolGraph, type MeanPoolGraphSpec } from "./mean-pool-graph.js";
export { type Mulberry32, mulberry32 } from "./random.js";
export {
  countTokens,
  type EncodedBatch,
  PAD_ID,
  padBatch,
  UNK_ID,
  WordTokenizer,
} from "./word-tokenizer.js";
