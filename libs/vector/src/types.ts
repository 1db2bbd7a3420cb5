/** What the retrieval service stores next to each chunk vector. */
export interface ChunkPayload {
  tenant: string;
  source: string;
  documentId: string;
  title: string;
  text: string;
  index: number;
  metadata: Record<string, string>;
  revision: number;
  modelVersion: string;
}

/** One chunk vector keyed by its chunk id. */
export interface VectorRecord {
  id: string;
  vector: Float32Array;
  payload: ChunkPayload;
}

/** Restricts a search to some sources and/or exact metadata values (all must match). */
export interface VectorFilter {
  sources?: string[];
  metadata?: Record<string, string>;
}

/** A search result; `score` is the cosine similarity. */
export interface VectorHit {
  id: string;
  score: number;
  payload: ChunkPayload;
}

/** A tenant-partitioned vector store; tenants never see each other's records. */
export interface VectorStore {
  open(): Promise<void>;
  /** Upsert by id into the tenant's partition of collection `collection` (one collection per model version), dimension fixed per collection. Idempotent. */
  upsert(tenant: string, collection: string, records: VectorRecord[]): Promise<void>;
  /** Delete ids of a tenant from every collection; unknown ids are ignored. */
  delete(tenant: string, ids: string[]): Promise<void>;
  /**
   * Drops every record of `tenant` in `collection` (one index version), leaving other tenants
   * and other collections untouched; returns how many records it dropped (0 when none). Durable
   * once `flush()` returns.
   */
  drop(tenant: string, collection: string): Promise<number>;
  search(
    tenant: string,
    collection: string,
    query: Float32Array,
    k: number,
    filter?: VectorFilter,
  ): Promise<VectorHit[]>;
  /** Exact (brute force) search, same signature — used to measure ANN recall. */
  searchExact(
    tenant: string,
    collection: string,
    query: Float32Array,
    k: number,
    filter?: VectorFilter,
  ): Promise<VectorHit[]>;
  count(tenant: string, collection?: string): Promise<number>;
  /** Which of `ids` the tenant's partition of `collection` holds. */
  has(tenant: string, collection: string, ids: readonly string[]): Promise<Set<string>>;
  collections(): Promise<string[]>;
  tenants(): Promise<string[]>;
  /** Iterate every record payload of a tenant in a collection (to rebuild the keyword index at start). */
  scan(tenant: string, collection: string): AsyncIterable<{ id: string; payload: ChunkPayload }>;
  /** Make everything upserted so far durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown when a vector's length differs from the collection's fixed dimension. */
export class DimensionMismatchError extends Error {
  override readonly name = "DimensionMismatchError";
  readonly code = "DIMENSION_MISMATCH";
  constructor(
    readonly collection: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`collection ${collection} has dimension ${expected}, got a vector of ${actual}`);
  }
}

/** Thrown when a store is used before `open()` or after `close()`. */
export class StoreClosedError extends Error {
  override readonly name = "StoreClosedError";
  readonly code = "STORE_CLOSED";
  constructor() {
    super("vector store is not open");
  }
}

/** True when the payload passes every clause of the filter. */
export function matchesFilter(payload: ChunkPayload, filter: VectorFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.sources && !filter.sources.includes(payload.source)) return false;
  if (filter.metadata) {
    for (const key of Object.keys(filter.metadata)) {
      if (payload.metadata[key] !== filter.metadata[key]) return false;
    }
  }
  return true;
}

/** True when the filter restricts nothing. */
export function isEmptyFilter(filter: VectorFilter | undefined): boolean {
  return (
    !filter ||
    (filter.sources === undefined &&
      (!filter.metadata || Object.keys(filter.metadata).length === 0))
  );
}
