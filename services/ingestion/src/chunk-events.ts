import { create, toBinary } from "@bufbuild/protobuf";
import { Events, encodeEvent, msgIdPart, type Subjects } from "@tailor/bus";
import type { Insertable } from "@tailor/db";
import { type Chunk, ChunkSchema, ChunksDeletedSchema, ChunksUpsertedSchema } from "@tailor/proto";
import type { ChunkText } from "./content/index.js";
import type { OutboxTable } from "./db/schema.js";
import { DocumentRejectedError } from "./store-errors.js";

/** At most this many chunks per event, whatever their size: keeps embedding batches even. */
const CHUNKS_PER_EVENT = 64;
/**
 * Room each chunk must leave for what the embedding service adds when it forwards the chunk
 * (its vector: up to 4,096 float32 dimensions, and framing), so the embedding event fits too.
 */
export const EMBEDDING_ROOM = 16 * 1024 + 512;
const MAX_U64 = 2n ** 64n - 1n;
/** Chunk ids are 32 hex characters (see chunkId). */
const SAMPLE_CHUNK_ID = "0".repeat(32);

export interface DocKey {
  tenant: string;
  source: string;
  id: string;
}

export interface EventDoc extends DocKey {
  title: string;
  metadata: Record<string, string>;
}

/**
 * Throws DocumentRejectedError when a chunk of this document could not travel in any event:
 * title and metadata ride along with every chunk (and again in the embedding event), so it is
 * their size together with the largest chunk that has to fit in `maxEventBytes`.
 */
export function assertChunksFit(
  doc: EventDoc,
  version: string,
  pieces: ChunkText[],
  maxEventBytes: number,
): void {
  const base = upsertedBaseBytes(doc, version);
  if (base + EMBEDDING_ROOM > maxEventBytes)
    throw new DocumentRejectedError(
      "metadata",
      `title and metadata make ${base} bytes per event, leaving no room for text under the event limit of ${maxEventBytes}`,
    );
  for (const p of pieces) {
    const size = chunkFieldBytes(
      create(ChunkSchema, {
        chunkId: SAMPLE_CHUNK_ID,
        index: p.index,
        text: p.text,
        tokenCount: p.tokenCount,
      }),
    );
    if (base + size + EMBEDDING_ROOM > maxEventBytes)
      throw new DocumentRejectedError(
        "text",
        `chunk ${p.index} makes an event of ${base + size} bytes, over the event limit of ${maxEventBytes - EMBEDDING_ROOM}`,
      );
  }
}

/** ChunksUpserted outbox rows for one document version, each under `maxEventBytes` encoded. */
export function upsertedEventRows(
  subjects: Subjects,
  doc: EventDoc,
  version: string,
  revision: bigint,
  chunks: Chunk[],
  maxEventBytes: number,
): Insertable<OutboxTable>[] {
  const base = upsertedBaseBytes(doc, version);
  const parts = split(chunks, chunkFieldBytes, base, maxEventBytes - EMBEDDING_ROOM);
  return parts.map((part, i) => ({
    subject: subjects.chunk(doc.tenant, "upserted"),
    event_type: Events.chunksUpserted.type,
    msg_id: `chunks:${doc.tenant}:${doc.source}:${msgIdPart(doc.id)}:${revision}:${i}`,
    payload: Buffer.from(
      encodeEvent(
        Events.chunksUpserted,
        create(ChunksUpsertedSchema, {
          tenant: doc.tenant,
          source: doc.source,
          documentId: doc.id,
          title: doc.title,
          documentVersion: version,
          revision,
          metadata: doc.metadata,
          chunks: part,
        }),
      ),
    ),
  }));
}

/** ChunksDeleted outbox rows retiring `chunkIds`, split so each fits in `maxEventBytes`. */
export function deletedEventRows(
  subjects: Subjects,
  key: DocKey,
  chunkIds: string[],
  revision: bigint,
  maxEventBytes: number,
): Insertable<OutboxTable>[] {
  const ev = (ids: string[], rev: bigint) =>
    create(ChunksDeletedSchema, {
      tenant: key.tenant,
      source: key.source,
      documentId: key.id,
      chunkIds: ids,
      revision: rev,
    });
  const base = toBinary(ChunksDeletedSchema, ev([], MAX_U64)).length;
  // The embedding service wraps this event in another message: leave it a little room.
  const parts = split(
    chunkIds,
    (id) => 1 + varintBytes(Buffer.byteLength(id)) + Buffer.byteLength(id),
    base,
    maxEventBytes - 1024,
    Number.POSITIVE_INFINITY,
  );
  return parts.map((part, i) => ({
    subject: subjects.chunk(key.tenant, "deleted"),
    event_type: Events.chunksDeleted.type,
    msg_id: `chunks-deleted:${key.tenant}:${key.source}:${msgIdPart(key.id)}:${revision}:${i}`,
    payload: Buffer.from(encodeEvent(Events.chunksDeleted, ev(part, revision))),
  }));
}

/** Groups items in order so that `base` plus the sizes of a group stay within `budget`. */
function split<T>(
  items: T[],
  size: (item: T) => number,
  base: number,
  budget: number,
  maxItems = CHUNKS_PER_EVENT,
): T[][] {
  const parts: T[][] = [];
  let cur: T[] = [];
  let bytes = base;
  for (const item of items) {
    const s = size(item);
    if (cur.length > 0 && (cur.length >= maxItems || bytes + s > budget)) {
      parts.push(cur);
      cur = [];
      bytes = base;
    }
    cur.push(item);
    bytes += s;
  }
  if (cur.length > 0) parts.push(cur);
  return parts;
}

/** Encoded size of a ChunksUpserted for this document without chunks (largest revision assumed). */
function upsertedBaseBytes(doc: EventDoc, version: string): number {
  return toBinary(
    ChunksUpsertedSchema,
    create(ChunksUpsertedSchema, {
      tenant: doc.tenant,
      source: doc.source,
      documentId: doc.id,
      title: doc.title,
      documentVersion: version,
      revision: MAX_U64,
      metadata: doc.metadata,
    }),
  ).length;
}

/** Bytes one chunk adds to a ChunksUpserted: tag, length and the chunk message. */
function chunkFieldBytes(c: Chunk): number {
  const n = toBinary(ChunkSchema, c).length;
  return 1 + varintBytes(n) + n;
}

function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    bytes++;
  }
  return bytes;
}
