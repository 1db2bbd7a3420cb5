import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import type { HnswState } from "./hnsw.js";
import type { ChunkPayload } from "./types.js";

/** Everything needed to restore one (tenant, collection) partition without re-linking. */
export interface PartitionSnapshot {
  tenant: string;
  collection: string;
  dim: number;
  m: number;
  efConstruction: number;
  seed: number;
  state: HnswState;
  /** Per node: chunk id, or null for a tombstone. */
  ids: (string | null)[];
  payloads: (ChunkPayload | null)[];
}

const MAGIC = "TVS1";
type BlobName = "vectors" | "levels" | "deleted" | "links0" | "upper" | "docs";

interface SnapshotHeader {
  walSeq: number;
  partitions: {
    tenant: string;
    collection: string;
    dim: number;
    m: number;
    efConstruction: number;
    seed: number;
    size: number;
    entry: number;
    maxLevel: number;
    rngState: number;
    blobs: Record<BlobName, [number, number]>;
  }[];
}

const view = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * Writes all partitions to `path` crash-safely: temp file, fsync, rename, fsync the directory,
 * so a reader sees either the old snapshot or the new one, never half of one.
 */
export function writeSnapshot(path: string, walSeq: number, partitions: PartitionSnapshot[]): void {
  const chunks: Buffer[] = [];
  let offset = 0;
  const header: SnapshotHeader = { walSeq, partitions: [] };
  for (const p of partitions) {
    const s = p.state;
    const blobs = {} as Record<BlobName, [number, number]>;
    const add = (name: BlobName, buf: Buffer): void => {
      blobs[name] = [offset, buf.length];
      chunks.push(buf);
      offset += buf.length;
    };
    add("vectors", view(s.vectors));
    add("levels", view(s.levels));
    add("deleted", view(s.deleted));
    add("links0", view(s.links0));
    add("upper", view(s.upper));
    add("docs", Buffer.from(JSON.stringify([p.ids, p.payloads]), "utf8"));
    header.partitions.push({
      tenant: p.tenant,
      collection: p.collection,
      dim: p.dim,
      m: p.m,
      efConstruction: p.efConstruction,
      seed: p.seed,
      size: s.size,
      entry: s.entry,
      maxLevel: s.maxLevel,
      rngState: s.rngState,
      blobs,
    });
  }
  const headerBuf = Buffer.from(JSON.stringify(header), "utf8");
  const prefix = Buffer.alloc(8);
  prefix.write(MAGIC, 0, "ascii");
  prefix.writeUInt32LE(headerBuf.length, 4);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    for (const buf of [prefix, headerBuf, ...chunks]) {
      let written = 0;
      while (written < buf.length) written += writeSync(fd, buf, written);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dirFd = openSync(dirname(path), "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Reads a snapshot written by `writeSnapshot`; undefined when there is none. */
export function readSnapshot(
  path: string,
): { walSeq: number; partitions: PartitionSnapshot[] } | undefined {
  if (!existsSync(path)) return undefined;
  const buf = readFileSync(path);
  if (buf.toString("ascii", 0, 4) !== MAGIC) throw new Error(`${path} is not a vector snapshot`);
  const headerLen = buf.readUInt32LE(4);
  const header = JSON.parse(buf.toString("utf8", 8, 8 + headerLen)) as SnapshotHeader;
  const base = 8 + headerLen;
  // slice() copies, which also gives every typed array an aligned buffer of its own.
  const blob = (range: [number, number]): ArrayBuffer =>
    buf.buffer.slice(buf.byteOffset + base + range[0], buf.byteOffset + base + range[0] + range[1]);
  const partitions = header.partitions.map((p): PartitionSnapshot => {
    const [ids, payloads] = JSON.parse(
      buf.toString("utf8", base + p.blobs.docs[0], base + p.blobs.docs[0] + p.blobs.docs[1]),
    ) as [(string | null)[], (ChunkPayload | null)[]];
    return {
      tenant: p.tenant,
      collection: p.collection,
      dim: p.dim,
      m: p.m,
      efConstruction: p.efConstruction,
      seed: p.seed,
      ids,
      payloads,
      state: {
        size: p.size,
        entry: p.entry,
        maxLevel: p.maxLevel,
        rngState: p.rngState,
        vectors: new Float32Array(blob(p.blobs.vectors)),
        levels: new Uint8Array(blob(p.blobs.levels)),
        deleted: new Uint8Array(blob(p.blobs.deleted)),
        links0: new Int32Array(blob(p.blobs.links0)),
        upper: new Int32Array(blob(p.blobs.upper)),
      },
    };
  });
  return { walSeq: header.walSeq, partitions };
}
