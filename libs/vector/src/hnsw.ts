import { type Mulberry32, mulberry32 } from "@tailor/models/random";
import { ScoreHeap } from "./heap.js";
import { createDotKernel, createWasmMemory, type DotKernel, type WasmMemory } from "./simd-dot.js";

/** Tuning knobs of one HNSW graph. */
export interface HnswParams {
  dim: number;
  m: number;
  efConstruction: number;
  seed: number;
}

/** Serialisable state of a graph, as written into snapshots. */
export interface HnswState {
  size: number;
  entry: number;
  maxLevel: number;
  rngState: number;
  vectors: Float32Array;
  levels: Uint8Array;
  deleted: Uint8Array;
  links0: Int32Array;
  /** Upper-level links of every node with level > 0, concatenated in node order. */
  upper: Int32Array;
}

const MAX_LEVEL = 15;

/**
 * Hierarchical navigable small-world graph over unit vectors (score = dot product).
 * Nodes are dense integers; deletion is a tombstone that still routes but never returns.
 */
export class HnswGraph {
  readonly dim: number;
  readonly m: number;
  readonly m0: number;
  readonly efConstruction: number;
  size = 0;
  entry = -1;
  maxLevel = -1;
  deletedCount = 0;
  levels: Uint8Array;
  deleted: Uint8Array;
  /** Level-0 links: per node a count followed by m0 slots. */
  links0: Int32Array;
  /** Levels 1..L: per node L blocks of a count followed by m slots. */
  upper: (Int32Array | undefined)[] = [];
  private capacity: number;
  /** Floats per vector slot, padded to a multiple of 8 for the SIMD kernel. */
  private readonly stride: number;
  private readonly bytes: number;
  /** Slot 0 holds the current query; node i lives in slot i + 1. */
  private readonly memory: WasmMemory;
  private f32: Float32Array;
  private readonly kernel: DotKernel;
  private rng: Mulberry32;
  private readonly levelMult: number;
  private visited: Uint32Array;
  private stamp = 0;
  private readonly candidates = new ScoreHeap();
  private readonly results = new ScoreHeap();
  private scratchNodes: Int32Array;
  private scratchScores: Float64Array;
  private readonly selected: Int32Array;

  constructor(params: HnswParams, capacity = 1024) {
    this.dim = params.dim;
    this.m = params.m;
    this.m0 = params.m * 2;
    this.efConstruction = params.efConstruction;
    this.levelMult = 1 / Math.log(params.m);
    this.rng = mulberry32(params.seed);
    this.capacity = capacity;
    this.stride = Math.ceil(params.dim / 8) * 8;
    this.bytes = this.stride * 4;
    this.memory = createWasmMemory(this.pagesFor(capacity));
    this.f32 = new Float32Array(this.memory.buffer);
    this.kernel = createDotKernel(this.memory);
    this.levels = new Uint8Array(capacity);
    this.deleted = new Uint8Array(capacity);
    this.links0 = new Int32Array(capacity * (this.m0 + 1));
    this.visited = new Uint32Array(capacity);
    this.scratchNodes = new Int32Array(Math.max(this.m0 + 1, params.efConstruction) + 1);
    this.scratchScores = new Float64Array(this.scratchNodes.length);
    this.selected = new Int32Array(this.m0 + 1);
  }

  /** Rebuilds a graph from snapshot state without re-linking anything. */
  static fromState(params: HnswParams, state: HnswState): HnswGraph {
    const g = new HnswGraph(params, Math.max(state.size, 16));
    g.size = state.size;
    g.entry = state.entry;
    g.maxLevel = state.maxLevel;
    g.rng = mulberry32(state.rngState);
    for (let node = 0; node < state.size; node++) {
      g.f32.set(state.vectors.subarray(node * g.dim, (node + 1) * g.dim), g.ptr(node) >> 2);
    }
    g.levels.set(state.levels.subarray(0, state.size));
    g.deleted.set(state.deleted.subarray(0, state.size));
    g.links0.set(state.links0.subarray(0, state.size * (g.m0 + 1)));
    let off = 0;
    const block = g.m + 1;
    for (let node = 0; node < state.size; node++) {
      const level = g.levels[node]!;
      if (g.deleted[node]) g.deletedCount++;
      if (level === 0) continue;
      g.upper[node] = state.upper.slice(off, off + level * block);
      off += level * block;
    }
    return g;
  }

  state(): HnswState {
    const block = this.m + 1;
    let upperLen = 0;
    for (let node = 0; node < this.size; node++) upperLen += this.levels[node]! * block;
    const upper = new Int32Array(upperLen);
    let off = 0;
    for (let node = 0; node < this.size; node++) {
      const links = this.upper[node];
      if (!links) continue;
      upper.set(links, off);
      off += links.length;
    }
    return {
      size: this.size,
      entry: this.entry,
      maxLevel: this.maxLevel,
      rngState: this.rng.state(),
      vectors: this.compactVectors(),
      levels: this.levels.subarray(0, this.size),
      deleted: this.deleted.subarray(0, this.size),
      links0: this.links0.subarray(0, this.size * (this.m0 + 1)),
      upper,
    };
  }

  /** Copy of node `node`'s vector. */
  vector(node: number): Float32Array {
    const off = this.ptr(node) >> 2;
    return this.f32.slice(off, off + this.dim);
  }

  get live(): number {
    return this.size - this.deletedCount;
  }

  markDeleted(node: number): void {
    if (this.deleted[node]) return;
    this.deleted[node] = 1;
    this.deletedCount++;
  }

  /** Adds a unit vector and links it into the graph; returns its node number. */
  add(vec: Float32Array): number {
    if (this.size === this.capacity) this.grow();
    const node = this.size++;
    const qPtr = this.ptr(node);
    this.f32.set(vec.subarray(0, this.dim), qPtr >> 2);
    const level = Math.min(MAX_LEVEL, Math.floor(-Math.log(1 - this.rng()) * this.levelMult));
    this.levels[node] = level;
    if (level > 0) this.upper[node] = new Int32Array(level * (this.m + 1));
    if (this.entry < 0) {
      this.entry = node;
      this.maxLevel = level;
      return node;
    }
    let cur = this.entry;
    for (let l = this.maxLevel; l > level; l--) cur = this.greedy(qPtr, cur, l);
    for (let l = Math.min(level, this.maxLevel); l >= 0; l--) {
      this.searchLayer(qPtr, cur, this.efConstruction, l, null, null);
      const n = this.drainResults();
      cur = this.scratchNodes[0]!;
      const count = this.selectNeighbors(this.scratchNodes, this.scratchScores, n, this.m);
      const arr = l === 0 ? this.links0 : this.upper[node]!;
      const base = l === 0 ? node * (this.m0 + 1) : (l - 1) * (this.m + 1);
      arr[base] = count;
      const chosen = this.selected.slice(0, count);
      for (let i = 0; i < count; i++) arr[base + 1 + i] = chosen[i]!;
      for (let i = 0; i < count; i++) this.linkBack(chosen[i]!, node, l);
    }
    if (level > this.maxLevel) {
      this.entry = node;
      this.maxLevel = level;
    }
    return node;
  }

  /**
   * Approximate k-NN. `allowed` (when given) limits results to nodes with a non-zero byte;
   * tombstones and disallowed nodes still route the walk, so the search keeps expanding until
   * it has `ef` acceptable results or runs out of graph.
   */
  search(
    q: Float32Array,
    k: number,
    ef: number,
    allowed: Uint8Array | null,
  ): { nodes: Int32Array; scores: Float64Array } {
    if (this.entry < 0) return { nodes: new Int32Array(0), scores: new Float64Array(0) };
    this.f32.set(q.subarray(0, this.dim), 0);
    let cur = this.entry;
    for (let l = this.maxLevel; l > 0; l--) cur = this.greedy(0, cur, l);
    const blocked = this.deletedCount > 0 ? this.deleted : null;
    this.searchLayer(0, cur, Math.max(ef, k), 0, blocked, allowed);
    const n = this.drainResults();
    const take = Math.min(k, n);
    return {
      nodes: this.scratchNodes.slice(0, take),
      scores: this.scratchScores.slice(0, take),
    };
  }

  /** Brute-force k-NN over live nodes (optionally only `candidates`). */
  exact(
    q: Float32Array,
    k: number,
    candidates: Int32Array | null,
  ): { nodes: Int32Array; scores: Float64Array } {
    const heap = this.results;
    heap.clear();
    this.f32.set(q.subarray(0, this.dim), 0);
    const kernel = this.kernel;
    const bytes = this.bytes;
    const total = candidates ? candidates.length : this.size;
    for (let i = 0; i < total; i++) {
      const node = candidates ? candidates[i]! : i;
      if (this.deleted[node]) continue;
      const s = kernel(0, (node + 1) * bytes, bytes);
      if (heap.size < k) heap.push(node, -s);
      else if (-heap.topScore() < s) {
        heap.pop();
        heap.push(node, -s);
      }
    }
    const n = heap.size;
    const nodes = new Int32Array(n);
    const scores = new Float64Array(n);
    for (let i = n - 1; i >= 0; i--) {
      nodes[i] = heap.topNode();
      scores[i] = -heap.topScore();
      heap.pop();
    }
    return { nodes, scores };
  }

  private greedy(qPtr: number, start: number, level: number): number {
    const kernel = this.kernel;
    const bytes = this.bytes;
    let cur = start;
    let best = kernel(qPtr, (cur + 1) * bytes, bytes);
    let changed = true;
    while (changed) {
      changed = false;
      const links = this.upper[cur]!;
      const base = (level - 1) * (this.m + 1);
      const count = links[base]!;
      for (let i = 1; i <= count; i++) {
        const nb = links[base + i]!;
        const s = kernel(qPtr, (nb + 1) * bytes, bytes);
        if (s > best) {
          best = s;
          cur = nb;
          changed = true;
        }
      }
    }
    return cur;
  }

  /** Fills `this.results` (a min-heap via negated scores) with up to ef acceptable nodes. */
  private searchLayer(
    qPtr: number,
    entry: number,
    ef: number,
    level: number,
    blocked: Uint8Array | null,
    allowed: Uint8Array | null,
  ): void {
    const kernel = this.kernel;
    const bytes = this.bytes;
    const visited = this.visited;
    const stamp = this.nextStamp();
    const candidates = this.candidates;
    const results = this.results;
    candidates.clear();
    results.clear();
    visited[entry] = stamp;
    const s0 = kernel(qPtr, (entry + 1) * bytes, bytes);
    candidates.push(entry, s0);
    if (!(blocked?.[entry] || (allowed && !allowed[entry]))) results.push(entry, -s0);
    const links0 = this.links0;
    const stride0 = this.m0 + 1;
    const strideU = this.m + 1;
    while (candidates.size > 0) {
      const cs = candidates.topScore();
      if (results.size >= ef && cs < -results.topScore()) break;
      const c = candidates.topNode();
      candidates.pop();
      const arr = level === 0 ? links0 : this.upper[c]!;
      const base = level === 0 ? c * stride0 : (level - 1) * strideU;
      const count = arr[base]!;
      for (let i = 1; i <= count; i++) {
        const nb = arr[base + i]!;
        if (visited[nb] === stamp) continue;
        visited[nb] = stamp;
        const s = kernel(qPtr, (nb + 1) * bytes, bytes);
        if (results.size < ef || s > -results.topScore()) {
          candidates.push(nb, s);
          if (blocked?.[nb] || (allowed && !allowed[nb])) continue;
          results.push(nb, -s);
          if (results.size > ef) results.pop();
        }
      }
    }
  }

  /** Moves results into scratch arrays, best first; returns how many. */
  private drainResults(): number {
    const results = this.results;
    const n = results.size;
    if (this.scratchNodes.length < n) {
      this.scratchNodes = new Int32Array(n * 2);
      this.scratchScores = new Float64Array(n * 2);
    }
    for (let i = n - 1; i >= 0; i--) {
      this.scratchNodes[i] = results.topNode();
      this.scratchScores[i] = -results.topScore();
      results.pop();
    }
    return n;
  }

  /**
   * HNSW neighbour heuristic: keep a candidate only if it is closer to the base than to every
   * neighbour already kept, which preserves links across clusters. Writes into `this.selected`.
   */
  private selectNeighbors(nodes: Int32Array, scores: Float64Array, n: number, max: number): number {
    const kernel = this.kernel;
    const bytes = this.bytes;
    const selected = this.selected;
    let count = 0;
    for (let i = 0; i < n && count < max; i++) {
      const c = nodes[i]!;
      const sc = scores[i]!;
      let good = true;
      for (let j = 0; j < count; j++) {
        if (kernel((c + 1) * bytes, (selected[j]! + 1) * bytes, bytes) > sc) {
          good = false;
          break;
        }
      }
      if (good) selected[count++] = c;
    }
    return count;
  }

  private linkBack(from: number, to: number, level: number): void {
    const max = level === 0 ? this.m0 : this.m;
    const arr = level === 0 ? this.links0 : this.upper[from]!;
    const base = level === 0 ? from * (this.m0 + 1) : (level - 1) * (this.m + 1);
    const count = arr[base]!;
    if (count < max) {
      arr[base + 1 + count] = to;
      arr[base] = count + 1;
      return;
    }
    // Full: re-select among old links plus the new one, sorted by closeness to `from`.
    const kernel = this.kernel;
    const bytes = this.bytes;
    const fromPtr = (from + 1) * bytes;
    const nodes = new Int32Array(count + 1);
    const scores = new Float64Array(count + 1);
    for (let i = 0; i <= count; i++) {
      const nb = i < count ? arr[base + 1 + i]! : to;
      const s = kernel(fromPtr, (nb + 1) * bytes, bytes);
      let j = i;
      while (j > 0 && scores[j - 1]! < s) {
        nodes[j] = nodes[j - 1]!;
        scores[j] = scores[j - 1]!;
        j--;
      }
      nodes[j] = nb;
      scores[j] = s;
    }
    const kept = this.selectNeighbors(nodes, scores, count + 1, max);
    arr[base] = kept;
    for (let i = 0; i < kept; i++) arr[base + 1 + i] = this.selected[i]!;
  }

  private ptr(node: number): number {
    return (node + 1) * this.bytes;
  }

  private pagesFor(capacity: number): number {
    return Math.ceil(((capacity + 1) * this.bytes) / 65536);
  }

  private compactVectors(): Float32Array {
    const out = new Float32Array(this.size * this.dim);
    for (let node = 0; node < this.size; node++) {
      const off = this.ptr(node) >> 2;
      out.set(this.f32.subarray(off, off + this.dim), node * this.dim);
    }
    return out;
  }

  private nextStamp(): number {
    this.stamp++;
    if (this.stamp === 0xffffffff) {
      this.visited.fill(0);
      this.stamp = 1;
    }
    return this.stamp;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    this.memory.grow(this.pagesFor(cap) - this.memory.buffer.byteLength / 65536);
    this.f32 = new Float32Array(this.memory.buffer);
    const levels = new Uint8Array(cap);
    levels.set(this.levels);
    const deleted = new Uint8Array(cap);
    deleted.set(this.deleted);
    const links0 = new Int32Array(cap * (this.m0 + 1));
    links0.set(this.links0);
    const visited = new Uint32Array(cap);
    visited.set(this.visited);
    this.levels = levels;
    this.deleted = deleted;
    this.links0 = links0;
    this.visited = visited;
    this.capacity = cap;
  }
}
