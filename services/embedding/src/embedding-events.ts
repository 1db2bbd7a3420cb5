import { create, toBinary } from "@bufbuild/protobuf";
import { PoisonMessageError } from "@tailor/bus";
import {
  type ChunksUpserted,
  type EmbeddedChunk,
  EmbeddedChunkSchema,
  type EmbeddingsReady,
  EmbeddingsReadySchema,
} from "@tailor/proto";

/** The model that made the vectors of one input event. */
export interface Embedded {
  model: string;
  version: string;
  dimensions: number;
  /** `ev.chunks.length * dimensions` values, row-major. */
  vectors: Float32Array;
}

/**
 * The EmbeddingsReady events for one ChunksUpserted, split so each encodes to at most
 * `maxBytes`: every embedded chunk repeats the document's title and metadata and adds its
 * vector, so the output of one input event can be several times its size. A single chunk that
 * cannot fit on its own is a PoisonMessageError for this input event alone.
 */
export function embeddingEvents(
  ev: ChunksUpserted,
  e: Embedded,
  maxBytes: number,
): EmbeddingsReady[] {
  const dims = e.dimensions;
  const event = (chunks: EmbeddedChunk[], vectors: Float32Array) =>
    create(EmbeddingsReadySchema, {
      tenant: ev.tenant,
      model: e.model,
      modelVersion: e.version,
      dimensions: dims,
      chunks,
      vectors: new Uint8Array(
        vectors.buffer.slice(vectors.byteOffset, vectors.byteOffset + vectors.byteLength),
      ),
    });
  // Everything but the chunks, with room for the vectors field's tag and length.
  const base = toBinary(EmbeddingsReadySchema, event([], new Float32Array(0))).length + 6;
  const parts: EmbeddingsReady[] = [];
  let cur: EmbeddedChunk[] = [];
  let start = 0;
  let bytes = base;
  const close = (end: number) => {
    if (cur.length > 0) parts.push(event(cur, e.vectors.subarray(start * dims, end * dims)));
    cur = [];
    start = end;
    bytes = base;
  };
  for (const [i, c] of ev.chunks.entries()) {
    const chunk = create(EmbeddedChunkSchema, {
      chunkId: c.chunkId,
      source: ev.source,
      documentId: ev.documentId,
      title: ev.title,
      text: c.text,
      index: c.index,
      metadata: ev.metadata,
      revision: ev.revision,
    });
    const n = toBinary(EmbeddedChunkSchema, chunk).length;
    const size = 1 + varintBytes(n) + n + dims * 4;
    if (base + size > maxBytes)
      throw new PoisonMessageError(
        `chunk ${c.index} of the event makes an embedding event of ${base + size} bytes, over the limit of ${maxBytes}`,
      );
    if (cur.length > 0 && bytes + size > maxBytes) close(i);
    cur.push(chunk);
    bytes += size;
  }
  close(ev.chunks.length);
  return parts;
}

function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    bytes++;
  }
  return bytes;
}
