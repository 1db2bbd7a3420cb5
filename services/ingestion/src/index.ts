export { type IngestionConfig, parseIngestionConfig } from "./config.js";
export { chunkId, contentHash } from "./document-store.js";
export { create, type IngestionServiceHandle } from "./service.js";
