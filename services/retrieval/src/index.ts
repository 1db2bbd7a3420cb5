export { type HybridConfig, parseRetrievalConfig, type RetrievalConfig } from "./config.js";
export { FEATURE_NAMES, type FeatureName, type Features } from "./ranking/features.js";
export { type Hit, type Mode, Searcher, type SearchQuery } from "./searcher.js";
export { create, type RetrievalServiceHandle } from "./service.js";
