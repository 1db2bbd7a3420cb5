import {
  type Bus,
  DurableConsumer,
  decodeEvent,
  Events,
  type JsMsg,
  type Outcome,
  PoisonMessageError,
  readAttributes,
  type Subjects,
} from "@tailor/bus";
import { formatEmbedderRef, parseEmbedderRef } from "@tailor/clients";
import type { KeywordIndex } from "@tailor/keyword";
import type { EmbeddingsReady } from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";
import type { VectorRecord, VectorStore } from "@tailor/vector";
import type { ChunkCatalog } from "./catalog.js";
import type { RetrievalConfig } from "./config.js";
import type { IndexState } from "./index-state.js";

/** Re-embeds what the events brought at `eventVersion` at a tenant's other index versions. */
export type Mirror = (
  tenant: string,
  eventVersion: string,
  records: VectorRecord[],
) => Promise<void>;

/**
 * Consumes `embedding.>` into the vector store, the keyword index and the catalog. A batch is
 * made durable (vector log fsync, tombstones) before its messages are acknowledged.
 */
export class Indexer {
  readonly consumer: DurableConsumer;
  private readonly subjects: Subjects;

  constructor(
    bus: Bus,
    private readonly store: VectorStore,
    private readonly keyword: KeywordIndex,
    private readonly catalog: ChunkCatalog,
    private readonly state: IndexState,
    private readonly config: RetrievalConfig,
    logger: Logger,
    /** Keeps built index versions current; never fails a message (it marks a version stale). */
    private readonly mirror?: Mirror,
  ) {
    this.subjects = bus.subjects;
    this.consumer = new DurableConsumer(bus, {
      stream: "EMBEDDING",
      // One consumer per index: its position belongs to the index it fed. A new or wiped index
      // gets a new id, so a new consumer that replays the whole stream.
      durable: `retrieval-${state.indexId}`,
      inactiveThresholdMs: 7 * 24 * 3600 * 1000,
      filterSubject: bus.subjects.all("embedding"),
      ackWaitMs: 15_000,
      logger,
    });
  }

  async start(): Promise<void> {
    await this.consumer.startBatches(
      { maxBatch: this.config.batch.maxMessages, maxWaitMs: this.config.batch.maxWaitMs },
      (msgs) => this.handle(msgs),
    );
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
  }

  private async handle(msgs: JsMsg[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    // What this batch indexed, by tenant and event version: re-embedded at the tenant's other
    // index versions in as few model calls as the batch allows.
    const indexed = new Map<string, { tenant: string; version: string; records: VectorRecord[] }>();
    for (const m of msgs) {
      // Indexing is CPU work on the thread that answers searches: yield between messages so a
      // search waits for at most one message's inserts, not a whole batch.
      await new Promise<void>((r) => setImmediate(r));
      try {
        const done = await this.apply(m);
        if (done && this.mirror && this.state.indexVersionsOf(done.tenant).size > 0) {
          const k = `${done.tenant}\u0000${done.version}`;
          const group = indexed.get(k) ?? {
            tenant: done.tenant,
            version: done.version,
            records: [],
          };
          group.records.push(...done.records);
          indexed.set(k, group);
        }
        outcomes.push({ ok: true });
      } catch (err) {
        outcomes.push({ ok: false, error: err });
      }
    }
    for (const g of indexed.values()) await this.mirror?.(g.tenant, g.version, g.records);
    try {
      await Promise.all([this.store.flush(), this.state.flush()]);
    } catch (err) {
      return msgs.map(() => ({ ok: false, error: err }));
    }
    return outcomes;
  }

  /** Applies one message; returns what it upserted (for the other index versions). */
  private async apply(
    m: JsMsg,
  ): Promise<{ tenant: string; version: string; records: VectorRecord[] } | undefined> {
    const type = readAttributes(m.headers).type;
    if (type === Events.embeddingsDeleted.type) {
      const ev = decodeEvent(Events.embeddingsDeleted, m);
      const d = ev.deleted;
      if (!ev.tenant || !d) throw new PoisonMessageError("tenant and deleted are required");
      this.subjects.requireSubjectTenant(m.subject, "embedding", ev.tenant);
      this.state.markDeleted(d.chunkIds);
      await this.store.delete(ev.tenant, d.chunkIds);
      for (const id of d.chunkIds) {
        this.keyword.remove(ev.tenant, id);
        this.catalog.remove(ev.tenant, id);
      }
      return undefined;
    }
    if (type !== Events.embeddingsReady.type)
      throw new PoisonMessageError(`unexpected ce-type ${type ?? "(none)"}`);
    const ev = decodeEvent(Events.embeddingsReady, m);
    // The subject's tenant is what NATS permissions can fence; a payload may not name another.
    if (ev.tenant) this.subjects.requireSubjectTenant(m.subject, "embedding", ev.tenant);
    const records = toRecords(ev).filter((r) => !this.state.isDeleted(r.id));
    if (records.length === 0) return undefined;
    // Vectors of version V go into index version V only, beside the others; which one a tenant
    // is served at never follows the events.
    await this.store.upsert(ev.tenant, indexVersionOf(ev), records);
    for (const r of records) {
      this.keyword.add(ev.tenant, r.id, {
        title: r.payload.title,
        text: r.payload.text,
        source: r.payload.source,
        metadata: r.payload.metadata,
      });
      this.catalog.put(ev.tenant, r.id, r.payload);
    }
    return { tenant: ev.tenant, version: indexVersionOf(ev), records };
  }
}

/** The index version an event's vectors belong to: its exact embedder, `name@version`. */
export function indexVersionOf(ev: EmbeddingsReady): string {
  return formatEmbedderRef({ model: ev.model, version: ev.modelVersion });
}

/** Validates an embedding event and splits its packed vectors into records. */
export function toRecords(ev: EmbeddingsReady): VectorRecord[] {
  if (!ev.tenant) throw new PoisonMessageError("tenant is required");
  if (!ev.model) throw new PoisonMessageError("model is required");
  if (!ev.modelVersion) throw new PoisonMessageError("model_version is required");
  const version = indexVersionOf(ev);
  const problem = parseEmbedderRef(version);
  if (typeof problem === "string") throw new PoisonMessageError(problem);
  const dims = ev.dimensions;
  if (dims === 0) throw new PoisonMessageError("dimensions must be > 0");
  if (ev.vectors.byteLength !== ev.chunks.length * dims * 4) {
    throw new PoisonMessageError(
      `vectors holds ${ev.vectors.byteLength} bytes, expected ${ev.chunks.length}×${dims}×4`,
    );
  }
  const all = new Float32Array(ev.chunks.length * dims);
  new Uint8Array(all.buffer).set(ev.vectors);
  return ev.chunks.map((c, i) => {
    if (!c.chunkId) throw new PoisonMessageError(`chunks[${i}].chunk_id is required`);
    return {
      id: c.chunkId,
      vector: all.subarray(i * dims, (i + 1) * dims),
      payload: {
        tenant: ev.tenant,
        source: c.source,
        documentId: c.documentId,
        title: c.title,
        text: c.text,
        index: c.index,
        metadata: { ...c.metadata },
        revision: Number(c.revision),
        modelVersion: version,
      },
    };
  });
}
