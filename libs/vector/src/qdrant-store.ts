import { createHash } from "node:crypto";
import { QdrantClient } from "@qdrant/js-client-rest";
import {
  type ChunkPayload,
  DimensionMismatchError,
  type VectorFilter,
  type VectorHit,
  type VectorRecord,
  type VectorStore,
} from "./types.js";

/** Connection settings of the Qdrant backend. */
export interface QdrantVectorStoreOptions {
  url: string;
  apiKey?: string;
  /** HNSW ef for approximate searches; Qdrant's default when unset. */
  efSearch?: number;
  /** Points per upsert request. */
  batchSize?: number;
}

const PREFIX = "tailor_";
const SCROLL_PAGE = 256;

type StoredPayload = ChunkPayload & { chunkId: string };
type Filter = { must: Record<string, unknown>[] };

/** Qdrant collection name of a Tailor collection: an injective escape so `collections()` can invert it. */
export function qdrantCollectionName(collection: string): string {
  let out = PREFIX;
  for (const ch of collection) {
    out += /[A-Za-z0-9-]/.test(ch) ? ch : `_${ch.codePointAt(0)!.toString(16).padStart(4, "0")}`;
  }
  return out;
}

function collectionFromQdrant(name: string): string | undefined {
  if (!name.startsWith(PREFIX)) return undefined;
  return name
    .slice(PREFIX.length)
    .replace(/_([0-9a-f]{4,6})/g, (_, hex: string) =>
      String.fromCodePoint(Number.parseInt(hex, 16)),
    );
}

/** Deterministic UUID (v5 layout, SHA-1) of a tenant's chunk id; Qdrant only accepts UUIDs or integers. */
export function pointId(tenant: string, chunkId: string): string {
  const h = createHash("sha1").update(tenant).update("\u0000").update(chunkId).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Vector store on Qdrant: one collection per model version, every tenant in it behind a
 * `tenant` keyword index that every read must-filters on, so no caller filter can widen it.
 */
export class QdrantVectorStore implements VectorStore {
  private readonly client: QdrantClient;
  /** Known collections and their dimensions. */
  private readonly dims = new Map<string, number>();

  constructor(private readonly opts: QdrantVectorStoreOptions) {
    this.client = new QdrantClient({
      url: opts.url,
      ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
      checkCompatibility: false,
    });
  }

  async open(): Promise<void> {
    const { collections } = await this.client.getCollections();
    for (const c of collections) {
      const name = collectionFromQdrant(c.name);
      if (name !== undefined) await this.loadDim(name);
    }
  }

  async upsert(tenant: string, collection: string, records: VectorRecord[]): Promise<void> {
    if (records.length === 0) return;
    const dim = await this.ensureCollection(collection, records[0]!.vector.length);
    for (const r of records) {
      if (r.vector.length !== dim)
        throw new DimensionMismatchError(collection, dim, r.vector.length);
    }
    const batch = this.opts.batchSize ?? 256;
    for (let i = 0; i < records.length; i += batch) {
      const points = records.slice(i, i + batch).map((r) => ({
        id: pointId(tenant, r.id),
        vector: Array.from(r.vector),
        // The wall is the `tenant` argument, never whatever the payload claims.
        payload: { ...r.payload, tenant, chunkId: r.id } satisfies StoredPayload,
      }));
      await this.client.upsert(qdrantCollectionName(collection), { wait: true, points });
    }
  }

  async delete(tenant: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    // Point ids hash the tenant in, so another tenant's point with the same chunk id is untouched.
    const points = ids.map((id) => pointId(tenant, id));
    for (const collection of this.dims.keys()) {
      await this.client.delete(qdrantCollectionName(collection), { wait: true, points });
    }
  }

  async drop(tenant: string, collection: string): Promise<number> {
    if (!(await this.exists(collection))) return 0;
    const name = qdrantCollectionName(collection);
    const { count } = await this.client.count(name, { filter: tenantFilter(tenant), exact: true });
    if (count === 0) return 0;
    // The tenant filter is the wall: other tenants' points in the same collection stay.
    await this.client.delete(name, { wait: true, filter: tenantFilter(tenant) });
    return count;
  }

  search(
    tenant: string,
    collection: string,
    query: Float32Array,
    k: number,
    filter?: VectorFilter,
  ): Promise<VectorHit[]> {
    const params = this.opts.efSearch ? { hnsw_ef: this.opts.efSearch } : undefined;
    return this.query(tenant, collection, query, k, filter, params);
  }

  searchExact(
    tenant: string,
    collection: string,
    query: Float32Array,
    k: number,
    filter?: VectorFilter,
  ): Promise<VectorHit[]> {
    return this.query(tenant, collection, query, k, filter, { exact: true });
  }

  async count(tenant: string, collection?: string): Promise<number> {
    const names = collection === undefined ? [...this.dims.keys()] : [collection];
    let n = 0;
    for (const c of names) {
      if (!(await this.exists(c))) continue;
      const res = await this.client.count(qdrantCollectionName(c), {
        filter: tenantFilter(tenant),
        exact: true,
      });
      n += res.count;
    }
    return n;
  }

  async has(tenant: string, collection: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0 || !(await this.exists(collection))) return new Set();
    // Point ids hash the tenant in: another tenant's chunk of the same id is another point.
    const byPoint = new Map(ids.map((id) => [pointId(tenant, id), id]));
    const points = await this.client.retrieve(qdrantCollectionName(collection), {
      ids: [...byPoint.keys()],
      with_payload: false,
      with_vector: false,
    });
    const out = new Set<string>();
    for (const p of points) {
      const id = byPoint.get(String(p.id));
      if (id !== undefined) out.add(id);
    }
    return out;
  }

  async collections(): Promise<string[]> {
    const { collections } = await this.client.getCollections();
    return collections
      .map((c) => collectionFromQdrant(c.name))
      .filter((c): c is string => c !== undefined)
      .sort();
  }

  async tenants(): Promise<string[]> {
    const out = new Set<string>();
    for (const c of await this.collections()) {
      const res = await this.client.facet(qdrantCollectionName(c), {
        key: "tenant",
        limit: 100_000,
        exact: true,
      });
      for (const hit of res.hits) if (hit.count > 0) out.add(String(hit.value));
    }
    return [...out].sort();
  }

  async *scan(
    tenant: string,
    collection: string,
  ): AsyncIterable<{ id: string; payload: ChunkPayload }> {
    if (!(await this.exists(collection))) return;
    let offset: string | number | undefined;
    do {
      const page = await this.client.scroll(qdrantCollectionName(collection), {
        filter: tenantFilter(tenant),
        limit: SCROLL_PAGE,
        with_payload: true,
        with_vector: false,
        ...(offset !== undefined ? { offset } : {}),
      });
      for (const p of page.points) yield fromStored(p.payload);
      const next = page.next_page_offset;
      offset = typeof next === "string" || typeof next === "number" ? next : undefined;
    } while (offset !== undefined);
  }

  async flush(): Promise<void> {
    // Every write waits for Qdrant's acknowledgement (`wait: true`), so there is nothing to flush.
  }

  async close(): Promise<void> {
    this.dims.clear();
  }

  private async query(
    tenant: string,
    collection: string,
    query: Float32Array,
    k: number,
    filter: VectorFilter | undefined,
    params: { exact?: boolean; hnsw_ef?: number } | undefined,
  ): Promise<VectorHit[]> {
    if (k <= 0 || !(await this.exists(collection))) return [];
    const dim = this.dims.get(collection)!;
    if (dim !== query.length) throw new DimensionMismatchError(collection, dim, query.length);
    const res = await this.client.search(qdrantCollectionName(collection), {
      vector: Array.from(query),
      limit: k,
      filter: buildFilter(tenant, filter),
      with_payload: true,
      ...(params ? { params } : {}),
    });
    return res.map((p) => {
      const { id, payload } = fromStored(p.payload);
      return { id, score: p.score, payload };
    });
  }

  private async exists(collection: string): Promise<boolean> {
    if (this.dims.has(collection)) return true;
    return (await this.loadDim(collection)) !== undefined;
  }

  private async loadDim(collection: string): Promise<number | undefined> {
    const name = qdrantCollectionName(collection);
    const { exists } = await this.client.collectionExists(name);
    if (!exists) return undefined;
    const info = await this.client.getCollection(name);
    const vectors = info.config.params.vectors as { size?: number } | undefined;
    if (typeof vectors?.size !== "number") return undefined;
    this.dims.set(collection, vectors.size);
    return vectors.size;
  }

  private async ensureCollection(collection: string, dim: number): Promise<number> {
    const known = this.dims.get(collection) ?? (await this.loadDim(collection));
    if (known !== undefined) return known;
    const name = qdrantCollectionName(collection);
    try {
      await this.client.createCollection(name, {
        vectors: { size: dim, distance: "Cosine" },
        // Tenants are searched one at a time, so per-tenant graphs beat one global graph.
        hnsw_config: { payload_m: 16, m: 0 },
      });
    } catch (err: unknown) {
      // Another writer may have created it first; anything else is a real failure.
      if ((await this.loadDim(collection)) === undefined) throw err;
    }
    await this.client.createPayloadIndex(name, {
      wait: true,
      field_name: "tenant",
      field_schema: { type: "keyword", is_tenant: true },
    });
    await this.client.createPayloadIndex(name, {
      wait: true,
      field_name: "source",
      field_schema: "keyword",
    });
    return (await this.loadDim(collection)) ?? dim;
  }
}

function tenantFilter(tenant: string): Filter {
  return { must: [{ key: "tenant", match: { value: tenant } }] };
}

function buildFilter(tenant: string, filter: VectorFilter | undefined): Filter {
  const f = tenantFilter(tenant);
  if (filter?.sources) f.must.push({ key: "source", match: { any: filter.sources } });
  for (const [k, v] of Object.entries(filter?.metadata ?? {})) {
    f.must.push({ key: `metadata.${k}`, match: { value: v } });
  }
  return f;
}

function fromStored(raw: unknown): { id: string; payload: ChunkPayload } {
  const { chunkId, ...payload } = raw as StoredPayload;
  return { id: chunkId, payload };
}
