export { type ModelServerConfig, parseModelServerConfig } from "./config.js";
export { ModelLoadFailedError, ModelRegistry } from "./registry.js";
export { OnnxEmbedder } from "./runtime/embedder.js";
export { create, type ModelServerHandle, type ModelServerOverrides } from "./service.js";
