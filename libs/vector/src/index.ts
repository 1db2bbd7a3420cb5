export { EmbeddedVectorStore, type EmbeddedVectorStoreOptions } from "./embedded-store.js";
export {
  pointId,
  QdrantVectorStore,
  type QdrantVectorStoreOptions,
  qdrantCollectionName,
} from "./qdrant-store.js";
export {
  type ChunkPayload,
  DimensionMismatchError,
  matchesFilter,
  StoreClosedError,
  type VectorFilter,
  type VectorHit,
  type VectorRecord,
  type VectorStore,
} from "./types.js";
