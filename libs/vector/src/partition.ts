import { HnswGraph, type HnswParams } from "./hnsw.js";
import type { PartitionSnapshot } from "./snapshot.js";
import {
  type ChunkPayload,
  isEmptyFilter,
  matchesFilter,
  type VectorFilter,
  type VectorHit,
} from "./types.js";

/** Below this many matching records a filtered search is brute force: exact and cheaper than a walk. */
const EXACT_FILTER_MIN = 2048;
/** ...or below this share of the partition. */
const EXACT_FILTER_SHARE = 0.1;
const FILTER_CACHE_SIZE = 8;

interface FilterMatch {
  version: number;
  allowed: Uint8Array;
  nodes: Int32Array;
}

/** One tenant's records of one collection: an HNSW graph plus the id/payload side tables. */
export class Partition {
  graph: HnswGraph;
  /** Node → chunk id; null once the node is a tombstone. */
  private ids: (string | null)[] = [];
  private payloads: (ChunkPayload | null)[] = [];
  private readonly idToNode = new Map<string, number>();
  private version = 0;
  private readonly filterCache = new Map<string, FilterMatch>();

  constructor(
    readonly tenant: string,
    readonly collection: string,
    readonly params: HnswParams,
  ) {
    this.graph = new HnswGraph(params);
  }

  static fromSnapshot(s: PartitionSnapshot): Partition {
    const params = { dim: s.dim, m: s.m, efConstruction: s.efConstruction, seed: s.seed };
    const p = new Partition(s.tenant, s.collection, params);
    p.graph = HnswGraph.fromState(params, s.state);
    p.ids = s.ids;
    p.payloads = s.payloads;
    for (let node = 0; node < s.ids.length; node++) {
      const id = s.ids[node];
      if (id != null && !p.graph.deleted[node]) p.idToNode.set(id, node);
    }
    return p;
  }

  snapshot(): PartitionSnapshot {
    const { dim, m, efConstruction, seed } = this.params;
    return {
      tenant: this.tenant,
      collection: this.collection,
      dim,
      m,
      efConstruction,
      seed,
      state: this.graph.state(),
      ids: this.ids,
      payloads: this.payloads,
    };
  }

  get dim(): number {
    return this.params.dim;
  }

  has(id: string): boolean {
    return this.idToNode.has(id);
  }

  get live(): number {
    return this.idToNode.size;
  }

  /** Inserts or replaces; `vector` must already be unit length. */
  upsert(id: string, vector: Float32Array, payload: ChunkPayload): void {
    this.version++;
    const old = this.idToNode.get(id);
    if (old !== undefined) {
      if (sameVector(this.graph.vector(old), vector)) {
        this.payloads[old] = payload;
        return;
      }
      this.tombstone(old);
    }
    const node = this.graph.add(vector);
    this.ids[node] = id;
    this.payloads[node] = payload;
    this.idToNode.set(id, node);
  }

  delete(id: string): boolean {
    const node = this.idToNode.get(id);
    if (node === undefined) return false;
    this.version++;
    this.tombstone(node);
    this.idToNode.delete(id);
    return true;
  }

  /** True when tombstones are a large enough share that rebuilding pays off. */
  needsCompaction(): boolean {
    return this.graph.deletedCount > 64 && this.graph.deletedCount > this.graph.size * 0.2;
  }

  /** A fresh partition holding only live records, re-linked from scratch. */
  compacted(): Partition {
    const p = new Partition(this.tenant, this.collection, this.params);
    for (let node = 0; node < this.ids.length; node++) {
      const id = this.ids[node];
      const payload = this.payloads[node];
      if (id == null || payload == null || this.graph.deleted[node]) continue;
      p.upsert(id, this.graph.vector(node), payload);
    }
    return p;
  }

  *entries(): Generator<{ id: string; payload: ChunkPayload }> {
    for (const [id, node] of [...this.idToNode]) {
      const payload = this.payloads[node];
      if (payload) yield { id, payload };
    }
  }

  search(query: Float32Array, k: number, ef: number, filter?: VectorFilter): VectorHit[] {
    if (k <= 0 || this.live === 0) return [];
    if (isEmptyFilter(filter)) return this.hits(this.graph.search(query, k, ef, null));
    const match = this.match(filter);
    if (match.nodes.length === 0) return [];
    const exact =
      match.nodes.length <= EXACT_FILTER_MIN ||
      match.nodes.length <= this.live * EXACT_FILTER_SHARE;
    if (exact) return this.hits(this.graph.exact(query, k, match.nodes));
    return this.hits(this.graph.search(query, k, ef, match.allowed));
  }

  searchExact(query: Float32Array, k: number, filter?: VectorFilter): VectorHit[] {
    if (k <= 0 || this.live === 0) return [];
    if (isEmptyFilter(filter)) return this.hits(this.graph.exact(query, k, null));
    const match = this.match(filter);
    return match.nodes.length === 0 ? [] : this.hits(this.graph.exact(query, k, match.nodes));
  }

  private tombstone(node: number): void {
    this.graph.markDeleted(node);
    this.ids[node] = null;
    this.payloads[node] = null;
  }

  private match(filter: VectorFilter | undefined): FilterMatch {
    const key = JSON.stringify(filter);
    const cached = this.filterCache.get(key);
    if (cached && cached.version === this.version) return cached;
    const size = this.graph.size;
    const allowed = new Uint8Array(size);
    const nodes: number[] = [];
    for (let node = 0; node < size; node++) {
      const payload = this.payloads[node];
      if (payload && matchesFilter(payload, filter)) {
        allowed[node] = 1;
        nodes.push(node);
      }
    }
    const match = { version: this.version, allowed, nodes: Int32Array.from(nodes) };
    if (this.filterCache.size >= FILTER_CACHE_SIZE) {
      const oldest = this.filterCache.keys().next().value;
      if (oldest !== undefined) this.filterCache.delete(oldest);
    }
    this.filterCache.set(key, match);
    return match;
  }

  private hits(res: { nodes: Int32Array; scores: Float64Array }): VectorHit[] {
    const out: VectorHit[] = [];
    for (let i = 0; i < res.nodes.length; i++) {
      const node = res.nodes[i]!;
      const id = this.ids[node];
      const payload = this.payloads[node];
      if (id == null || payload == null) continue;
      out.push({ id, score: res.scores[i]!, payload });
    }
    return out;
  }
}

function sameVector(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > 1e-7) return false;
  return true;
}
