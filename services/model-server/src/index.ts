export { type ModelServerConfig, parseModelServerConfig } from "./config.js";
export { OnnxEmbedder } from "./runtime/embedder.js";
export { create, type ModelServerHandle } from "./service.js";
