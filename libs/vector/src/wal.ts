import { closeSync, fsync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { crc32 } from "node:zlib";
import type { ChunkPayload } from "./types.js";

/** One logged mutation. Upsert vectors are `ids.length * dim` raw float32s. */
export type WalOp =
  | {
      kind: "upsert";
      tenant: string;
      collection: string;
      dim: number;
      ids: string[];
      payloads: ChunkPayload[];
      vectors: Float32Array;
    }
  | { kind: "delete"; tenant: string; ids: string[] }
  | { kind: "drop"; tenant: string; collection: string };

const KIND_UPSERT = 1;
const KIND_DELETE = 2;
const KIND_DROP = 3;
/** Frame: u32 body length, u32 crc32(body), body = u8 kind, u32 json length, json, raw vectors. */
const FRAME_HEADER = 8;

const KINDS = { upsert: KIND_UPSERT, delete: KIND_DELETE, drop: KIND_DROP } as const;

/** Encodes one op as a self-checking frame. */
export function encodeWalOp(op: WalOp): Buffer {
  const meta =
    op.kind === "upsert"
      ? {
          tenant: op.tenant,
          collection: op.collection,
          dim: op.dim,
          ids: op.ids,
          payloads: op.payloads,
        }
      : op.kind === "delete"
        ? { tenant: op.tenant, ids: op.ids }
        : { tenant: op.tenant, collection: op.collection };
  const json = Buffer.from(JSON.stringify(meta), "utf8");
  const vecBytes = op.kind === "upsert" ? op.vectors.byteLength : 0;
  const bodyLen = 1 + 4 + json.length + vecBytes;
  const buf = Buffer.allocUnsafe(FRAME_HEADER + bodyLen);
  buf.writeUInt32LE(bodyLen, 0);
  buf.writeUInt8(KINDS[op.kind], FRAME_HEADER);
  buf.writeUInt32LE(json.length, FRAME_HEADER + 1);
  json.copy(buf, FRAME_HEADER + 5);
  if (op.kind === "upsert") {
    const raw = Buffer.from(op.vectors.buffer, op.vectors.byteOffset, op.vectors.byteLength);
    raw.copy(buf, FRAME_HEADER + 5 + json.length);
  }
  buf.writeUInt32LE(crc32(buf.subarray(FRAME_HEADER)), 4);
  return buf;
}

/**
 * Decodes every intact frame of a log file. A torn or corrupt frame (a crash mid-append) ends
 * the log: nothing after it was acknowledged by `flush()`.
 */
export function readWal(path: string): { ops: WalOp[]; torn: boolean } {
  const buf = readFileSync(path);
  const ops: WalOp[] = [];
  let off = 0;
  while (off + FRAME_HEADER <= buf.length) {
    const bodyLen = buf.readUInt32LE(off);
    const end = off + FRAME_HEADER + bodyLen;
    if (bodyLen < 5 || end > buf.length) return { ops, torn: true };
    const body = buf.subarray(off + FRAME_HEADER, end);
    if (crc32(body) !== buf.readUInt32LE(off + 4)) return { ops, torn: true };
    ops.push(decodeBody(body));
    off = end;
  }
  return { ops, torn: off !== buf.length };
}

function decodeBody(body: Buffer): WalOp {
  const kind = body.readUInt8(0);
  const jsonLen = body.readUInt32LE(1);
  const meta = JSON.parse(body.toString("utf8", 5, 5 + jsonLen)) as {
    tenant: string;
    collection?: string;
    dim?: number;
    ids: string[];
    payloads?: ChunkPayload[];
  };
  if (kind === KIND_DELETE) return { kind: "delete", tenant: meta.tenant, ids: meta.ids };
  if (kind === KIND_DROP)
    return { kind: "drop", tenant: meta.tenant, collection: meta.collection ?? "" };
  const start = 5 + jsonLen;
  // Copy so the floats are 4-byte aligned regardless of where the frame sat in the file.
  const vectors = new Float32Array(
    body.buffer.slice(body.byteOffset + start, body.byteOffset + body.length),
  );
  return {
    kind: "upsert",
    tenant: meta.tenant,
    collection: meta.collection ?? "",
    dim: meta.dim ?? 0,
    ids: meta.ids,
    payloads: meta.payloads ?? [],
    vectors,
  };
}

/** Append-only log file. Appends reach the OS at once (so a process crash loses nothing); `sync` makes them durable. */
export class WalWriter {
  private fd: number;
  bytes = 0;
  private dirty = false;
  private inflight?: Promise<void>;

  constructor(readonly path: string) {
    this.fd = openSync(path, "a");
  }

  append(frame: Buffer): void {
    let written = 0;
    while (written < frame.length) written += writeSync(this.fd, frame, written);
    this.bytes += frame.length;
    this.dirty = true;
  }

  sync(): void {
    if (!this.dirty || this.fd < 0) return;
    fsyncSync(this.fd);
    this.dirty = false;
  }

  /**
   * Like `sync`, but on libuv's thread pool: an fsync can take tens of milliseconds, and the
   * retrieval service must keep answering searches meanwhile.
   */
  async syncAsync(): Promise<void> {
    // Wait for an fsync already running: what it covers was written before it started.
    while (this.inflight) await this.inflight.catch(() => {});
    if (!this.dirty || this.fd < 0) return;
    this.dirty = false;
    const fd = this.fd;
    const p = new Promise<void>((resolve, reject) =>
      fsync(fd, (err) => (err ? reject(err) : resolve())),
    ).catch((err: unknown) => {
      this.dirty = true;
      throw err;
    });
    this.inflight = p;
    try {
      await p;
    } finally {
      if (this.inflight === p) this.inflight = undefined;
    }
  }

  close(): void {
    if (this.fd < 0) return;
    this.sync();
    closeSync(this.fd);
    this.fd = -1;
  }
}
