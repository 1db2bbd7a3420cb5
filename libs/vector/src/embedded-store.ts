import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "@tailor/telemetry";
import { Partition } from "./partition.js";
import { readSnapshot, writeSnapshot } from "./snapshot.js";
import {
  type ChunkPayload,
  DimensionMismatchError,
  StoreClosedError,
  type VectorFilter,
  type VectorHit,
  type VectorRecord,
  type VectorStore,
} from "./types.js";
import { normalized } from "./vector-math.js";
import { encodeWalOp, readWal, type WalOp, WalWriter } from "./wal.js";

const logger = createLogger("vector");

/** Options of the in-process store; defaults suit ~100k 100-dim vectors per partition. */
export interface EmbeddedVectorStoreOptions {
  dir: string;
  /** HNSW links per node on upper levels (twice this on level 0). */
  m?: number;
  efConstruction?: number;
  efSearch?: number;
  /** How often appended log records are fsynced even without `flush()`. */
  flushIntervalMs?: number;
  /** Snapshot (and start a new log) once the log grows past this many bytes. */
  snapshotLogBytes?: number;
  /** Snapshot at least this often while there are unsnapshotted changes. */
  snapshotIntervalMs?: number;
}

const SNAPSHOT_FILE = "snapshot.bin";
const WAL_PATTERN = /^wal-(\d+)\.log$/;
const walName = (seq: number): string => `wal-${String(seq).padStart(10, "0")}.log`;

/**
 * Vector store with an in-process HNSW index per (tenant, collection), a write-ahead log and
 * snapshots under `dir`. All index work is synchronous inside each call, so calls never interleave.
 */
export class EmbeddedVectorStore implements VectorStore {
  private readonly opts: Required<EmbeddedVectorStoreOptions>;
  private readonly partitions = new Map<string, Partition>();
  private readonly dims = new Map<string, number>();
  private wal: WalWriter | undefined;
  private walSeq = 0;
  private changedSinceSnapshot = false;
  private timers: NodeJS.Timeout[] = [];

  constructor(options: EmbeddedVectorStoreOptions) {
    this.opts = {
      // Measured at 100k x 100-dim uniform vectors (the hardest case): m 32 / efConstruction 64
      // builds faster than m 16 / 100 and reaches recall@10 0.98 at ef 800 where m 16 stalls at 0.9.
      m: 32,
      efConstruction: 64,
      efSearch: 512,
      flushIntervalMs: 1000,
      snapshotLogBytes: 256 * 1024 * 1024,
      snapshotIntervalMs: 10 * 60 * 1000,
      ...options,
    };
  }

  async open(): Promise<void> {
    if (this.wal) return;
    mkdirSync(this.opts.dir, { recursive: true });
    const snap = readSnapshot(join(this.opts.dir, SNAPSHOT_FILE));
    let nextSeq = 1;
    if (snap) {
      nextSeq = snap.walSeq;
      for (const s of snap.partitions) {
        this.partitions.set(key(s.tenant, s.collection), Partition.fromSnapshot(s));
        this.dims.set(s.collection, s.dim);
      }
    }
    for (const { seq, name } of this.walFiles()) {
      if (seq < nextSeq) continue;
      const { ops, torn } = readWal(join(this.opts.dir, name));
      for (const op of ops) this.apply(op);
      if (torn) logger.warn({ file: name }, "write-ahead log ends in a torn record; tail ignored");
      this.changedSinceSnapshot ||= ops.length > 0;
      nextSeq = seq + 1;
    }
    // Never append to a replayed log: its tail may be torn, and appends after garbage are lost.
    this.walSeq = nextSeq;
    this.wal = new WalWriter(join(this.opts.dir, walName(this.walSeq)));
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(() => {
        try {
          fn();
        } catch (err: unknown) {
          logger.error({ err }, "vector store background task failed");
        }
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.flushIntervalMs, () => void this.wal?.syncAsync().catch(() => {}));
    every(this.opts.snapshotIntervalMs, () => {
      if (this.changedSinceSnapshot) this.snapshot();
    });
  }

  async upsert(tenant: string, collection: string, records: VectorRecord[]): Promise<void> {
    const wal = this.requireOpen();
    if (records.length === 0) return;
    const dim = this.dims.get(collection) ?? records[0]!.vector.length;
    const vectors = new Float32Array(records.length * dim);
    for (let i = 0; i < records.length; i++) {
      const v = records[i]!.vector;
      if (v.length !== dim) throw new DimensionMismatchError(collection, dim, v.length);
      vectors.set(normalized(v), i * dim);
    }
    const op: WalOp = {
      kind: "upsert",
      tenant,
      collection,
      dim,
      ids: records.map((r) => r.id),
      payloads: records.map((r) => r.payload),
      vectors,
    };
    wal.append(encodeWalOp(op));
    this.apply(op);
    this.afterWrite();
  }

  async delete(tenant: string, ids: string[]): Promise<void> {
    const wal = this.requireOpen();
    if (ids.length === 0) return;
    const op: WalOp = { kind: "delete", tenant, ids };
    if (!this.apply(op)) return;
    wal.append(encodeWalOp(op));
    this.afterWrite();
  }

  async drop(tenant: string, collection: string): Promise<number> {
    const wal = this.requireOpen();
    const n = this.partitions.get(key(tenant, collection))?.live ?? 0;
    const op: WalOp = { kind: "drop", tenant, collection };
    if (!this.apply(op)) return 0;
    wal.append(encodeWalOp(op));
    this.afterWrite();
    return n;
  }

  async search(
    tenant: string,
    collection: string,
    query: Float32Array,
    k: number,
    filter?: VectorFilter,
  ): Promise<VectorHit[]> {
    const p = this.partitionFor(tenant, collection, query);
    return p ? p.search(normalized(query), k, this.opts.efSearch, filter) : [];
  }

  async searchExact(
    tenant: string,
    collection: string,
    query: Float32Array,
    k: number,
    filter?: VectorFilter,
  ): Promise<VectorHit[]> {
    const p = this.partitionFor(tenant, collection, query);
    return p ? p.searchExact(normalized(query), k, filter) : [];
  }

  async count(tenant: string, collection?: string): Promise<number> {
    this.requireOpen();
    let n = 0;
    for (const p of this.partitions.values()) {
      if (p.tenant === tenant && (collection === undefined || p.collection === collection))
        n += p.live;
    }
    return n;
  }

  async has(tenant: string, collection: string, ids: readonly string[]): Promise<Set<string>> {
    this.requireOpen();
    const p = this.partitions.get(key(tenant, collection));
    return new Set(p ? ids.filter((id) => p.has(id)) : []);
  }

  async collections(): Promise<string[]> {
    this.requireOpen();
    return [...this.dims.keys()].sort();
  }

  async tenants(): Promise<string[]> {
    this.requireOpen();
    const out = new Set<string>();
    for (const p of this.partitions.values()) if (p.live > 0) out.add(p.tenant);
    return [...out].sort();
  }

  async *scan(
    tenant: string,
    collection: string,
  ): AsyncIterable<{ id: string; payload: ChunkPayload }> {
    this.requireOpen();
    const p = this.partitions.get(key(tenant, collection));
    if (p) yield* p.entries();
  }

  async flush(): Promise<void> {
    await this.requireOpen().syncAsync();
  }

  async close(): Promise<void> {
    if (!this.wal) return;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.changedSinceSnapshot) this.snapshot();
    this.wal.close();
    this.wal = undefined;
    this.partitions.clear();
    this.dims.clear();
  }

  /**
   * Compacts tombstone-heavy partitions, rotates the log, writes the snapshot, then drops logs
   * it covers. A crash in between only means replaying logs the snapshot already holds, which
   * is harmless because every op is an idempotent set or delete by id.
   */
  snapshot(): void {
    const wal = this.requireOpen();
    for (const [k, p] of this.partitions) {
      if (p.live === 0) this.partitions.delete(k);
      else if (p.needsCompaction()) this.partitions.set(k, p.compacted());
    }
    wal.close();
    this.walSeq++;
    this.wal = new WalWriter(join(this.opts.dir, walName(this.walSeq)));
    const parts = [...this.partitions.values()].map((p) => p.snapshot());
    writeSnapshot(join(this.opts.dir, SNAPSHOT_FILE), this.walSeq, parts);
    for (const { seq, name } of this.walFiles()) {
      if (seq < this.walSeq) rmSync(join(this.opts.dir, name), { force: true });
    }
    this.changedSinceSnapshot = false;
  }

  /** Applies a logged op to memory; returns whether anything changed. */
  private apply(op: WalOp): boolean {
    // The partition goes whole; the collection's dimension stays for the other tenants in it.
    if (op.kind === "drop") return this.partitions.delete(key(op.tenant, op.collection));
    if (op.kind === "delete") {
      let changed = false;
      for (const p of this.partitions.values()) {
        if (p.tenant !== op.tenant) continue;
        for (const id of op.ids) changed = p.delete(id) || changed;
      }
      return changed;
    }
    const k = key(op.tenant, op.collection);
    let p = this.partitions.get(k);
    if (!p) {
      const { m, efConstruction } = this.opts;
      p = new Partition(op.tenant, op.collection, {
        dim: op.dim,
        m,
        efConstruction,
        seed: seedOf(k),
      });
      this.partitions.set(k, p);
      this.dims.set(op.collection, op.dim);
    }
    for (let i = 0; i < op.ids.length; i++) {
      p.upsert(op.ids[i]!, op.vectors.subarray(i * op.dim, (i + 1) * op.dim), op.payloads[i]!);
    }
    return true;
  }

  private afterWrite(): void {
    this.changedSinceSnapshot = true;
    if ((this.wal?.bytes ?? 0) > this.opts.snapshotLogBytes) this.snapshot();
  }

  private partitionFor(
    tenant: string,
    collection: string,
    query: Float32Array,
  ): Partition | undefined {
    this.requireOpen();
    const dim = this.dims.get(collection);
    if (dim !== undefined && dim !== query.length)
      throw new DimensionMismatchError(collection, dim, query.length);
    return this.partitions.get(key(tenant, collection));
  }

  private requireOpen(): WalWriter {
    if (!this.wal) throw new StoreClosedError();
    return this.wal;
  }

  private walFiles(): { seq: number; name: string }[] {
    return readdirSync(this.opts.dir)
      .map((name) => ({ name, m: WAL_PATTERN.exec(name) }))
      .filter((f): f is { name: string; m: RegExpExecArray } => f.m !== null)
      .map((f) => ({ seq: Number(f.m[1]), name: f.name }))
      .sort((a, b) => a.seq - b.seq);
  }
}

const key = (tenant: string, collection: string): string => `${tenant}\u0000${collection}`;

function seedOf(s: string): number {
  // FNV-1a: a stable per-partition seed keeps graphs reproducible across runs.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
