import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Events, encodeEvent, type Subjects } from "@tailor/bus";
import { type Database, sql, type Transaction } from "@tailor/db";
import { type Chunk, ChunkSchema, ChunksDeletedSchema, ChunksUpsertedSchema } from "@tailor/proto";
import { chunkDocument, extractText } from "./content/index.js";
import type { IngestionDB } from "./db/schema.js";

export interface DocumentInputData {
  tenant: string;
  source: string;
  id: string;
  title: string;
  text: string;
  contentType: string;
  metadata: Record<string, string>;
}

export type UpsertOutcome =
  | { status: "created" | "updated"; version: string; revision: bigint; chunkCount: number }
  | { status: "unchanged"; version: string; revision: bigint; chunkCount: number }
  | { status: "stale"; version: string; revision: bigint; chunkCount: number };

export interface StoreOptions {
  chunk: { maxTokens: number; overlapTokens: number };
  subjects: Subjects;
  /** Called after a commit that wrote outbox rows, to wake the relay. */
  onOutbox?: () => void;
}

/** Chunks per chunk event: keeps each message well under the server's payload limit. */
const CHUNKS_PER_EVENT = 64;
const TEXT_BYTES_PER_EVENT = 256 * 1024;

/**
 * The source of truth for documents and chunks. Every change and the events that announce it
 * are written in one transaction (outbox), so a crash between commit and publish loses nothing.
 */
export class DocumentStore {
  constructor(
    private readonly database: Database<IngestionDB>,
    private readonly o: StoreOptions,
  ) {}

  /**
   * Stores a document version. Identical content is a no-op; a changed one retires the old
   * chunks. `eventSeq` (the DATA stream sequence) lets an older event that arrives late be skipped.
   */
  async upsert(doc: DocumentInputData, eventSeq?: number): Promise<UpsertOutcome> {
    const contentType = doc.contentType || "text/plain";
    const version = contentHash(doc, contentType);
    // Extract and chunk outside the transaction: CPU work should not hold locks.
    const extracted = extractText(contentType, doc.text);
    const pieces = chunkDocument(extracted, doc.title, this.o.chunk);
    const outcome = await this.database.transaction(async (trx) => {
      await lockDocument(trx, doc);
      const existing = await trx
        .selectFrom("documents")
        .select(["version", "revision", "deleted", "chunk_count", "last_event_seq"])
        .where("tenant", "=", doc.tenant)
        .where("source", "=", doc.source)
        .where("external_id", "=", doc.id)
        .executeTakeFirst();
      const prevRevision = BigInt(existing?.revision ?? 0);
      if (
        existing &&
        eventSeq !== undefined &&
        existing.last_event_seq &&
        Number(existing.last_event_seq) > eventSeq
      ) {
        return {
          status: "stale",
          version: existing.version,
          revision: prevRevision,
          chunkCount: existing.chunk_count,
        } as const;
      }
      if (existing && !existing.deleted && existing.version === version) {
        return {
          status: "unchanged",
          version,
          revision: prevRevision,
          chunkCount: existing.chunk_count,
        } as const;
      }
      const revision = prevRevision + 1n;
      const retired =
        existing && !existing.deleted ? await this.retireChunks(trx, doc, revision) : 0;
      const chunks: Chunk[] = pieces.map((p) =>
        create(ChunkSchema, {
          chunkId: chunkId(doc, revision, p.index),
          index: p.index,
          text: p.text,
          tokenCount: p.tokenCount,
        }),
      );
      if (chunks.length > 0) {
        await trx
          .insertInto("chunks")
          .values(
            chunks.map((c) => ({
              chunk_id: c.chunkId,
              tenant: doc.tenant,
              source: doc.source,
              external_id: doc.id,
              idx: c.index,
              text: c.text,
              token_count: c.tokenCount,
              revision: String(revision),
            })),
          )
          .execute();
      }
      const row = {
        title: doc.title,
        content_type: contentType,
        version,
        revision: String(revision),
        metadata: JSON.stringify(doc.metadata) as unknown as Record<string, string>,
        chunk_count: chunks.length,
        deleted: false,
        last_event_seq:
          eventSeq === undefined ? (existing?.last_event_seq ?? null) : String(eventSeq),
      };
      await trx
        .insertInto("documents")
        .values({ tenant: doc.tenant, source: doc.source, external_id: doc.id, ...row })
        .onConflict((oc) =>
          oc
            .columns(["tenant", "source", "external_id"])
            .doUpdateSet({ ...row, updated_at: sql`now()` }),
        )
        .execute();
      await this.writeUpsertEvents(trx, doc, version, revision, chunks);
      void retired;
      return {
        status: existing ? "updated" : "created",
        version,
        revision,
        chunkCount: chunks.length,
      } as const;
    });
    if (outcome.status === "created" || outcome.status === "updated") this.o.onOutbox?.();
    return outcome;
  }

  /** Deletes a document and retires its chunks; returns how many were retired (0 when unknown). */
  async delete(
    key: { tenant: string; source: string; id: string },
    eventSeq?: number,
  ): Promise<{ found: boolean; retired: number }> {
    const result = await this.database.transaction(async (trx) => {
      await lockDocument(trx, key);
      const existing = await trx
        .selectFrom("documents")
        .select(["revision", "deleted", "last_event_seq"])
        .where("tenant", "=", key.tenant)
        .where("source", "=", key.source)
        .where("external_id", "=", key.id)
        .executeTakeFirst();
      if (!existing || existing.deleted) return { found: false, retired: 0 };
      if (
        eventSeq !== undefined &&
        existing.last_event_seq &&
        Number(existing.last_event_seq) > eventSeq
      ) {
        return { found: true, retired: 0 };
      }
      const revision = BigInt(existing.revision) + 1n;
      const retired = await this.retireChunks(trx, key, revision);
      await trx
        .updateTable("documents")
        .set({
          deleted: true,
          chunk_count: 0,
          revision: String(revision),
          updated_at: sql`now()`,
          last_event_seq: eventSeq === undefined ? existing.last_event_seq : String(eventSeq),
        })
        .where("tenant", "=", key.tenant)
        .where("source", "=", key.source)
        .where("external_id", "=", key.id)
        .execute();
      return { found: true, retired };
    });
    if (result.retired > 0) this.o.onOutbox?.();
    return result;
  }

  private async retireChunks(
    trx: Transaction<IngestionDB>,
    key: { tenant: string; source: string; id: string },
    revision: bigint,
  ): Promise<number> {
    const old = await trx
      .deleteFrom("chunks")
      .where("tenant", "=", key.tenant)
      .where("source", "=", key.source)
      .where("external_id", "=", key.id)
      .returning("chunk_id")
      .execute();
    if (old.length === 0) return 0;
    const ev = create(ChunksDeletedSchema, {
      tenant: key.tenant,
      source: key.source,
      documentId: key.id,
      chunkIds: old.map((r) => r.chunk_id),
      revision,
    });
    await trx
      .insertInto("outbox")
      .values({
        subject: this.o.subjects.chunk(key.tenant, "deleted"),
        event_type: Events.chunksDeleted.type,
        msg_id: `chunks-deleted:${key.tenant}:${key.source}:${key.id}:${revision}`,
        payload: Buffer.from(encodeEvent(Events.chunksDeleted, ev)),
      })
      .execute();
    return old.length;
  }

  private async writeUpsertEvents(
    trx: Transaction<IngestionDB>,
    doc: DocumentInputData,
    version: string,
    revision: bigint,
    chunks: Chunk[],
  ): Promise<void> {
    const parts: Chunk[][] = [];
    let cur: Chunk[] = [];
    let bytes = 0;
    for (const c of chunks) {
      const size = Buffer.byteLength(c.text);
      if (
        cur.length > 0 &&
        (cur.length >= CHUNKS_PER_EVENT || bytes + size > TEXT_BYTES_PER_EVENT)
      ) {
        parts.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(c);
      bytes += size;
    }
    if (cur.length > 0) parts.push(cur);
    if (parts.length === 0) return;
    await trx
      .insertInto("outbox")
      .values(
        parts.map((part, i) => ({
          subject: this.o.subjects.chunk(doc.tenant, "upserted"),
          event_type: Events.chunksUpserted.type,
          msg_id: `chunks:${doc.tenant}:${doc.source}:${doc.id}:${revision}:${i}`,
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
        })),
      )
      .execute();
  }
}

/** Serialises concurrent changes to one document (also across replicas). */
async function lockDocument(
  trx: Transaction<IngestionDB>,
  k: { tenant: string; source: string; id: string },
): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`${k.tenant}\u001f${k.source}\u001f${k.id}`}, 0))`.execute(
    trx,
  );
}

/** A document version is the hash of everything that makes its chunks. */
export function contentHash(doc: DocumentInputData, contentType: string): string {
  const meta = Object.keys(doc.metadata)
    .sort()
    .map((k) => [k, doc.metadata[k]]);
  return createHash("sha256")
    .update(JSON.stringify([doc.title, contentType, doc.text, meta]))
    .digest("hex")
    .slice(0, 32);
}

export function chunkId(
  k: { tenant: string; source: string; id: string },
  revision: bigint,
  index: number,
): string {
  return createHash("sha256")
    .update(`${k.tenant}\u0000${k.source}\u0000${k.id}\u0000${revision}\u0000${index}`)
    .digest("hex")
    .slice(0, 32);
}
