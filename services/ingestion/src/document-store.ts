import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Events, encodeEvent, type Subjects } from "@tailor/bus";
import { type Database, type Insertable, sql, type Transaction } from "@tailor/db";
import { type Chunk, ChunkSchema, ChunksDeletedSchema, ChunksUpsertedSchema } from "@tailor/proto";
import { type ChunkText, chunkDocument, extractText } from "./content/index.js";
import type { IngestionDB, OutboxTable } from "./db/schema.js";

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
    const [r] = await this.upsertMany([{ doc, eventSeq }]);
    if (!r || "error" in r) throw r?.error ?? new Error("no outcome");
    return r;
  }

  /**
   * Stores many document versions in as few transactions as possible (one per round, where a
   * round holds each document at most once, in order). A document whose content cannot be
   * extracted gets its own error outcome; a database error fails the whole call.
   */
  async upsertMany(
    items: { doc: DocumentInputData; eventSeq?: number }[],
  ): Promise<(UpsertOutcome | { error: unknown })[]> {
    const out: (UpsertOutcome | { error: unknown })[] = new Array(items.length);
    const prepared: Prepared[] = [];
    for (const [i, { doc, eventSeq }] of items.entries()) {
      try {
        // Extract and chunk outside the transaction: CPU work should not hold locks.
        const contentType = doc.contentType || "text/plain";
        const pieces = chunkDocument(extractText(contentType, doc.text), doc.title, this.o.chunk);
        prepared.push({
          i,
          doc,
          eventSeq,
          contentType,
          version: contentHash(doc, contentType),
          pieces,
          key: docKey(doc),
        });
      } catch (error) {
        out[i] = { error };
      }
    }
    let pending = prepared;
    while (pending.length > 0) {
      const seen = new Set<string>();
      const round: Prepared[] = [];
      const later: Prepared[] = [];
      for (const p of pending) {
        if (seen.has(p.key)) later.push(p);
        else {
          seen.add(p.key);
          round.push(p);
        }
      }
      const results = await this.database.transaction((trx) => this.applyRound(trx, round));
      for (const [j, p] of round.entries()) out[p.i] = results[j]!;
      pending = later;
    }
    if (out.some((o) => o && !("error" in o) && (o.status === "created" || o.status === "updated")))
      this.o.onOutbox?.();
    return out;
  }

  private async applyRound(
    trx: Transaction<IngestionDB>,
    round: Prepared[],
  ): Promise<UpsertOutcome[]> {
    const keys = round.map((p) => p.key).sort();
    await sql`select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest(${keys}::text[]) with ordinality as u(k, n) order by n`.execute(
      trx,
    );
    const existingRows = await sql<{
      tenant: string;
      source: string;
      external_id: string;
      version: string;
      revision: string;
      deleted: boolean;
      chunk_count: number;
      last_event_seq: string | null;
    }>`select d.tenant, d.source, d.external_id, d.version, d.revision, d.deleted, d.chunk_count, d.last_event_seq
       from documents d join unnest(${round.map((p) => p.doc.tenant)}::text[], ${round.map((p) => p.doc.source)}::text[], ${round.map((p) => p.doc.id)}::text[]) as k(t, s, i)
       on d.tenant = k.t and d.source = k.s and d.external_id = k.i`.execute(trx);
    const existing = new Map(
      existingRows.rows.map((r) => [
        docKey({ tenant: r.tenant, source: r.source, id: r.external_id }),
        r,
      ]),
    );
    const outcomes: UpsertOutcome[] = [];
    const changed: { p: Prepared; revision: bigint; chunks: Chunk[]; retire: boolean }[] = [];
    for (const p of round) {
      const e = existing.get(p.key);
      const prevRevision = BigInt(e?.revision ?? 0);
      if (
        e &&
        p.eventSeq !== undefined &&
        e.last_event_seq &&
        Number(e.last_event_seq) > p.eventSeq
      ) {
        outcomes.push({
          status: "stale",
          version: e.version,
          revision: prevRevision,
          chunkCount: e.chunk_count,
        });
        continue;
      }
      if (e && !e.deleted && e.version === p.version) {
        outcomes.push({
          status: "unchanged",
          version: p.version,
          revision: prevRevision,
          chunkCount: e.chunk_count,
        });
        continue;
      }
      const revision = prevRevision + 1n;
      const chunks = p.pieces.map((c) =>
        create(ChunkSchema, {
          chunkId: chunkId(p.doc, revision, c.index),
          index: c.index,
          text: c.text,
          tokenCount: c.tokenCount,
        }),
      );
      changed.push({ p, revision, chunks, retire: Boolean(e && !e.deleted) });
      outcomes.push({
        status: e ? "updated" : "created",
        version: p.version,
        revision,
        chunkCount: chunks.length,
      });
    }
    if (changed.length === 0) return outcomes;

    const retiring = changed.filter((c) => c.retire);
    if (retiring.length > 0) {
      const old = await sql<{
        chunk_id: string;
        tenant: string;
        source: string;
        external_id: string;
      }>`
        delete from chunks c using unnest(${retiring.map((c) => c.p.doc.tenant)}::text[], ${retiring.map((c) => c.p.doc.source)}::text[], ${retiring.map((c) => c.p.doc.id)}::text[]) as k(t, s, i)
        where c.tenant = k.t and c.source = k.s and c.external_id = k.i
        returning c.chunk_id, c.tenant, c.source, c.external_id`.execute(trx);
      const byDoc = new Map<string, string[]>();
      for (const r of old.rows) {
        const k = docKey({ tenant: r.tenant, source: r.source, id: r.external_id });
        const list = byDoc.get(k) ?? [];
        list.push(r.chunk_id);
        byDoc.set(k, list);
      }
      const events = retiring
        .filter((c) => byDoc.has(c.p.key))
        .map((c) => this.deletedEventRow(c.p.doc, byDoc.get(c.p.key)!, c.revision));
      if (events.length > 0) await trx.insertInto("outbox").values(events).execute();
    }
    const chunkRows = changed.flatMap(({ p, revision, chunks }) =>
      chunks.map((c) => ({
        chunk_id: c.chunkId,
        tenant: p.doc.tenant,
        source: p.doc.source,
        external_id: p.doc.id,
        idx: c.index,
        text: c.text,
        token_count: c.tokenCount,
        revision: String(revision),
      })),
    );
    // PostgreSQL allows 65,535 parameters per statement: 8 per chunk row.
    for (let off = 0; off < chunkRows.length; off += 4000) {
      await trx
        .insertInto("chunks")
        .values(chunkRows.slice(off, off + 4000))
        .execute();
    }
    await trx
      .insertInto("documents")
      .values(
        changed.map(({ p, revision, chunks }) => ({
          tenant: p.doc.tenant,
          source: p.doc.source,
          external_id: p.doc.id,
          title: p.doc.title,
          content_type: p.contentType,
          version: p.version,
          revision: String(revision),
          metadata: JSON.stringify(p.doc.metadata) as unknown as Record<string, string>,
          chunk_count: chunks.length,
          deleted: false,
          last_event_seq:
            p.eventSeq === undefined
              ? (existing.get(p.key)?.last_event_seq ?? null)
              : String(p.eventSeq),
        })),
      )
      .onConflict((oc) =>
        oc.columns(["tenant", "source", "external_id"]).doUpdateSet((eb) => ({
          title: eb.ref("excluded.title"),
          content_type: eb.ref("excluded.content_type"),
          version: eb.ref("excluded.version"),
          revision: eb.ref("excluded.revision"),
          metadata: eb.ref("excluded.metadata"),
          chunk_count: eb.ref("excluded.chunk_count"),
          deleted: eb.ref("excluded.deleted"),
          last_event_seq: eb.ref("excluded.last_event_seq"),
          updated_at: sql`now()`,
        })),
      )
      .execute();
    const outboxRows = changed.flatMap(({ p, revision, chunks }) =>
      this.upsertEventRows(p.doc, p.version, revision, chunks),
    );
    for (let off = 0; off < outboxRows.length; off += 10_000) {
      await trx
        .insertInto("outbox")
        .values(outboxRows.slice(off, off + 10_000))
        .execute();
    }
    return outcomes;
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
    await trx
      .insertInto("outbox")
      .values(
        this.deletedEventRow(
          key,
          old.map((r) => r.chunk_id),
          revision,
        ),
      )
      .execute();
    return old.length;
  }

  private deletedEventRow(
    key: { tenant: string; source: string; id: string },
    chunkIds: string[],
    revision: bigint,
  ): Insertable<OutboxTable> {
    const ev = create(ChunksDeletedSchema, {
      tenant: key.tenant,
      source: key.source,
      documentId: key.id,
      chunkIds,
      revision,
    });
    return {
      subject: this.o.subjects.chunk(key.tenant, "deleted"),
      event_type: Events.chunksDeleted.type,
      msg_id: `chunks-deleted:${key.tenant}:${key.source}:${key.id}:${revision}`,
      payload: Buffer.from(encodeEvent(Events.chunksDeleted, ev)),
    };
  }

  /** One ChunksUpserted row per part, each part small enough for one message. */
  private upsertEventRows(
    doc: DocumentInputData,
    version: string,
    revision: bigint,
    chunks: Chunk[],
  ): Insertable<OutboxTable>[] {
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
    return parts.map((part, i) => ({
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
    }));
  }
}

interface Prepared {
  i: number;
  doc: DocumentInputData;
  eventSeq?: number;
  contentType: string;
  version: string;
  pieces: ChunkText[];
  key: string;
}

function docKey(k: { tenant: string; source: string; id: string }): string {
  return `${k.tenant}\u001f${k.source}\u001f${k.id}`;
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
