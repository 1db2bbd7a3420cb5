import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { Subjects } from "@tailor/bus";
import { type Database, sql, type Transaction } from "@tailor/db";
import { type Chunk, ChunkSchema } from "@tailor/proto";
import { loneSurrogateAt } from "@tailor/service";
import {
  assertChunksFit,
  type DocKey,
  deletedEventRows,
  upsertedEventRows,
} from "./chunk-events.js";
import { type ChunkText, type ContentLimits, chunkDocument, extractText } from "./content/index.js";
import type { IngestionDB } from "./db/schema.js";
import { deleteInTransaction } from "./document-delete.js";
import { isItemDataError, rejectedByDatabase } from "./store-errors.js";
import {
  docKey,
  insertOutbox,
  isStale,
  lockDocuments,
  nextPosition,
  rowKey,
  type WriteOrder,
} from "./store-sql.js";

export type { WriteOrder } from "./store-sql.js";

export interface DocumentInputData {
  tenant: string;
  source: string;
  id: string;
  title: string;
  text: string;
  contentType: string;
  metadata: Record<string, string>;
}

export type UpsertOutcome = {
  status: "created" | "updated" | "unchanged" | "stale";
  version: string;
  revision: bigint;
  chunkCount: number;
};

/** A document after extraction and chunking, ready to be written. */
export interface PreparedDocument {
  readonly doc: DocumentInputData;
  readonly order: WriteOrder;
  readonly contentType: string;
  readonly version: string;
  readonly pieces: ChunkText[];
  readonly key: string;
}

type Result = UpsertOutcome | { error: unknown };

export interface StoreOptions {
  chunk: { maxTokens: number; overlapTokens: number };
  /** Bounds on what extraction and chunking produce; defaults where unset. */
  content?: Partial<ContentLimits>;
  subjects: Subjects;
  /** Largest encoded event the bus accepts (the server's max_payload less header room). */
  maxEventBytes: number;
  /** Called after a commit that wrote outbox rows, to wake the relay. */
  onOutbox?: () => void;
}

interface ExistingRow {
  tenant: string;
  source: string;
  external_id: string;
  version: string;
  revision: string;
  deleted: boolean;
  chunk_count: number;
  data_position: string;
}

/**
 * The source of truth for documents and chunks. Every change and the events that announce it
 * are written in one transaction (outbox), so a crash between commit and publish loses nothing.
 */
export class DocumentStore {
  constructor(
    private readonly database: Database<IngestionDB>,
    private readonly o: StoreOptions,
  ) {}

  /** Stores one document version; throws what `upsertMany` would report for it. */
  async upsert(doc: DocumentInputData, order: WriteOrder): Promise<UpsertOutcome> {
    const [r] = await this.upsertMany([{ doc, order }]);
    if (!r || "error" in r) throw r?.error ?? new Error("no outcome");
    return r;
  }

  /**
   * Stores many document versions. A document that cannot be stored (content that cannot be
   * extracted, events that cannot fit, data the database refuses) gets its own error outcome
   * and never fails its neighbours; only an error that would hit any document (connection,
   * deadlock…) is thrown.
   */
  async upsertMany(items: { doc: DocumentInputData; order: WriteOrder }[]): Promise<Result[]> {
    const prepared = this.prepare(items);
    const ready = prepared.filter((p): p is PreparedDocument => !("error" in p));
    const applied = await this.apply(ready);
    let next = 0;
    return prepared.map((p) => ("error" in p ? p : applied[next++]!));
  }

  /** Extracts and chunks (CPU work, outside any transaction) and checks the events will fit. */
  prepare(
    items: { doc: DocumentInputData; order: WriteOrder }[],
  ): (PreparedDocument | { error: unknown })[] {
    return items.map(({ doc, order }) => {
      try {
        const contentType = doc.contentType || "text/plain";
        const limits = this.o.content ?? {};
        const pieces = chunkDocument(extractText(contentType, doc.text, limits), doc.title, {
          ...this.o.chunk,
          maxChunks: limits.maxChunks,
        }).map((c) => ({ ...c, text: storableText(c.text) }));
        const version = contentHash(doc, contentType);
        assertChunksFit(doc, version, pieces, this.o.maxEventBytes);
        return { doc, order, contentType, version, pieces, key: docKey(doc) };
      } catch (error) {
        return { error };
      }
    });
  }

  /** Writes prepared documents in rounds that hold each document at most once, in order. */
  async apply(prepared: PreparedDocument[]): Promise<Result[]> {
    const out = new Map<PreparedDocument, Result>();
    let pending = prepared;
    while (pending.length > 0) {
      const seen = new Set<string>();
      const round: PreparedDocument[] = [];
      const later: PreparedDocument[] = [];
      for (const p of pending) {
        if (seen.has(p.key)) later.push(p);
        else {
          seen.add(p.key);
          round.push(p);
        }
      }
      const results = await this.applyIsolated(round);
      for (const [j, p] of round.entries()) out.set(p, results[j]!);
      pending = later;
    }
    const results = prepared.map((p) => out.get(p)!);
    if (results.some((r) => !("error" in r) && (r.status === "created" || r.status === "updated")))
      this.o.onOutbox?.();
    return results;
  }

  /**
   * One transaction for the round; when the database refuses the data of a document, that
   * aborts the transaction for all, so the round is retried one document at a time to find it.
   */
  private async applyIsolated(round: PreparedDocument[]): Promise<Result[]> {
    try {
      return await this.database.transaction((trx) => this.applyRound(trx, round));
    } catch (err) {
      if (!isItemDataError(err)) throw err;
      if (round.length === 1) return [{ error: rejectedByDatabase(err) }];
    }
    const out: Result[] = [];
    for (const p of round) {
      try {
        const [r] = await this.database.transaction((trx) => this.applyRound(trx, [p]));
        out.push(r!);
      } catch (err) {
        if (!isItemDataError(err)) throw err;
        out.push({ error: rejectedByDatabase(err) });
      }
    }
    return out;
  }

  private async applyRound(
    trx: Transaction<IngestionDB>,
    round: PreparedDocument[],
  ): Promise<UpsertOutcome[]> {
    await lockDocuments(
      trx,
      round.map((p) => p.key),
    );
    const existingRows = await sql<ExistingRow>`
      select d.tenant, d.source, d.external_id, d.version, d.revision, d.deleted, d.chunk_count, d.data_position
      from documents d join unnest(${round.map((p) => p.doc.tenant)}::text[], ${round.map((p) => p.doc.source)}::text[], ${round.map((p) => p.doc.id)}::text[]) as k(t, s, i)
      on d.tenant = k.t and d.source = k.s and d.external_id = k.i`.execute(trx);
    const existing = new Map(existingRows.rows.map((r) => [docKey(rowKey(r)), r]));
    const outcomes: UpsertOutcome[] = [];
    const changed: {
      p: PreparedDocument;
      revision: bigint;
      chunks: Chunk[];
      retire: boolean;
      position: number;
    }[] = [];
    const advanced: { p: PreparedDocument; position: number }[] = [];
    for (const p of round) {
      const e = existing.get(p.key);
      const prevRevision = BigInt(e?.revision ?? 0);
      const prevPosition = Number(e?.data_position ?? 0);
      if (isStale(p.order, prevPosition)) {
        outcomes.push({
          status: "stale",
          version: e!.version,
          revision: prevRevision,
          chunkCount: e!.chunk_count,
        });
        continue;
      }
      const position = nextPosition(p.order, prevPosition);
      if (e && !e.deleted && e.version === p.version) {
        // Recorded even when nothing changed, so an older event redelivered later stays stale.
        if (position > prevPosition) advanced.push({ p, position });
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
      changed.push({ p, revision, chunks, retire: Boolean(e && !e.deleted), position });
      outcomes.push({
        status: e && !e.deleted ? "updated" : "created",
        version: p.version,
        revision,
        chunkCount: chunks.length,
      });
    }
    if (advanced.length > 0) {
      await sql`update documents d set data_position = k.p
        from unnest(${advanced.map((a) => a.p.doc.tenant)}::text[], ${advanced.map((a) => a.p.doc.source)}::text[], ${advanced.map((a) => a.p.doc.id)}::text[], ${advanced.map((a) => String(a.position))}::bigint[]) as k(t, s, i, p)
        where d.tenant = k.t and d.source = k.s and d.external_id = k.i`.execute(trx);
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
        const k = docKey(rowKey(r));
        const list = byDoc.get(k) ?? [];
        list.push(r.chunk_id);
        byDoc.set(k, list);
      }
      const events = retiring
        .filter((c) => byDoc.has(c.p.key))
        .flatMap((c) =>
          deletedEventRows(
            this.o.subjects,
            c.p.doc,
            byDoc.get(c.p.key)!,
            c.revision,
            this.o.maxEventBytes,
          ),
        );
      await insertOutbox(trx, events);
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
        changed.map(({ p, revision, chunks, position }) => ({
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
          data_position: String(position),
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
          data_position: eb.ref("excluded.data_position"),
          updated_at: sql`now()`,
        })),
      )
      .execute();
    await insertOutbox(
      trx,
      changed.flatMap(({ p, revision, chunks }) =>
        upsertedEventRows(
          this.o.subjects,
          p.doc,
          p.version,
          revision,
          chunks,
          this.o.maxEventBytes,
        ),
      ),
    );
    return outcomes;
  }

  /**
   * Deletes a document and retires its chunks. A bus delete of a document not seen yet leaves a
   * tombstone at its position, so an older upsert that arrives later cannot bring it back.
   */
  async delete(key: DocKey, order: WriteOrder): Promise<{ found: boolean; retired: number }> {
    const result = await this.database.transaction((trx) =>
      deleteInTransaction(trx, key, order, this.o),
    );
    if (result.retired > 0) this.o.onOutbox?.();
    return result;
  }
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

export function chunkId(k: DocKey, revision: bigint, index: number): string {
  return createHash("sha256")
    .update(`${k.tenant}\u0000${k.source}\u0000${k.id}\u0000${revision}\u0000${index}`)
    .digest("hex")
    .slice(0, 32);
}

/**
 * Decoding a valid body can still produce what PostgreSQL and UTF-8 cannot hold: JSON's
 * `\u0000` or `\ud800` escapes, HTML's `&#0;`. The body itself was accepted, so its chunk
 * text keeps U+FFFD in their place instead of failing the document at the database.
 */
export function storableText(text: string): string {
  // A UTF-8 round trip turns each lone surrogate into U+FFFD (String#toWellFormed is ES2024).
  const wellFormed = loneSurrogateAt(text) >= 0 ? Buffer.from(text, "utf8").toString("utf8") : text;
  return wellFormed.includes("\u0000") ? wellFormed.replaceAll("\u0000", "\ufffd") : wellFormed;
}
