export * from "./bpe-json.js";
export * from "./llama-onnx.js";
export * from "./llama-reference.js";
export * from "./llama-weights.js";
export * from "./write-llama-folder.js";
