export { type EmbeddingConfig, parseEmbeddingConfig } from "./config.js";
export { create, type EmbeddingServiceHandle } from "./service.js";
