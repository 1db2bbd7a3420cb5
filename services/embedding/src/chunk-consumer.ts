import { create } from "@bufbuild/protobuf";
import {
  type Bus,
  DurableConsumer,
  decodeEvent,
  Events,
  type JsMsg,
  msgIdPart,
  type Outcome,
  PoisonMessageError,
  readAttributes,
} from "@tailor/bus";
import type { EmbedderClient, EmbedderRef } from "@tailor/clients";
import { type ChunksDeleted, type ChunksUpserted, EmbeddingsDeletedSchema } from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";
import type { EmbeddingConfig } from "./config.js";
import { embeddingEvents } from "./embedding-events.js";

/** Room kept in every event for its headers (CloudEvents attributes, trace context, msg id). */
const EVENT_HEADROOM = 16 * 1024;

type Decoded = { kind: "upserted"; ev: ChunksUpserted } | { kind: "deleted"; ev: ChunksDeleted };

/**
 * Consumes chunk events in batches, embeds the chunks through the model-server and publishes
 * embedding events. Order is kept: pending upserts are flushed before a delete is forwarded.
 */
export class ChunkConsumer {
  readonly consumer: DurableConsumer;
  private readonly abort = new AbortController();

  constructor(
    private readonly bus: Bus,
    private readonly embedder: EmbedderClient,
    /** The exact embedder every call names; an answer of another version fails the batch. */
    private readonly ref: EmbedderRef,
    private readonly config: EmbeddingConfig,
    logger: Logger,
  ) {
    this.consumer = new DurableConsumer(bus, {
      stream: "CHUNK",
      durable: "embedding",
      filterSubject: bus.subjects.all("chunk"),
      maxDeliver: config.maxDeliver,
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
    this.abort.abort();
    await this.consumer.stop();
  }

  private async handle(msgs: JsMsg[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = msgs.map(() => ({ ok: true }));
    let pending: { i: number; ev: ChunksUpserted }[] = [];
    const heartbeat = () => {
      for (const m of msgs) m.working();
    };
    const flush = async () => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      try {
        const errors = await this.embedAndPublish(
          batch.map((p) => p.ev),
          heartbeat,
        );
        // One event that cannot be published fails alone, never its siblings in the batch.
        for (const [j, error] of errors.entries())
          if (error !== undefined) outcomes[batch[j]!.i] = { ok: false, error };
      } catch (err) {
        for (const p of batch) outcomes[p.i] = { ok: false, error: err };
      }
    };
    for (const [i, m] of msgs.entries()) {
      let d: Decoded;
      try {
        d = this.decode(m);
      } catch (err) {
        outcomes[i] = { ok: false, error: err };
        continue;
      }
      if (d.kind === "upserted") {
        pending.push({ i, ev: d.ev });
        continue;
      }
      await flush();
      try {
        const deleted = d.ev;
        const ev = create(EmbeddingsDeletedSchema, { tenant: deleted.tenant, deleted });
        const id = `emb-deleted:${deleted.tenant}:${deleted.source}:${msgIdPart(deleted.documentId)}:${deleted.revision}:${deleted.chunkIds[0] ?? ""}`;
        await this.bus.publish(
          this.bus.subjects.embedding(deleted.tenant, "deleted"),
          Events.embeddingsDeleted,
          ev,
          { id, source: "/tailor/embedding" },
        );
      } catch (err) {
        outcomes[i] = { ok: false, error: err };
      }
    }
    await flush();
    return outcomes;
  }

  /** Decodes a chunk event; one whose payload names another tenant than its subject is poison. */
  private decode(m: JsMsg): Decoded {
    const type = readAttributes(m.headers).type;
    let d: Decoded;
    if (type === Events.chunksUpserted.type)
      d = { kind: "upserted", ev: decodeEvent(Events.chunksUpserted, m) };
    else if (type === Events.chunksDeleted.type)
      d = { kind: "deleted", ev: decodeEvent(Events.chunksDeleted, m) };
    else throw new PoisonMessageError(`unexpected ce-type ${type ?? "(none)"} on ${m.subject}`);
    this.bus.subjects.requireSubjectTenant(m.subject, "chunk", d.ev.tenant);
    return d;
  }

  /**
   * Embeds all chunks of these events in model calls of bounded size, then publishes each
   * event's vectors in as many messages as its size needs. Returns each event's publish error
   * (undefined when it went out); a failed model call throws for all.
   */
  private async embedAndPublish(
    events: ChunksUpserted[],
    heartbeat: () => void,
  ): Promise<(unknown | undefined)[]> {
    const texts: string[] = [];
    for (const ev of events)
      for (const c of ev.chunks) texts.push(ev.title ? `${ev.title}\n${c.text}` : c.text);
    const max = this.config.batch.maxTexts;
    let vectors: Float32Array | undefined;
    let dims = 0;
    const { model, version } = this.ref;
    for (let off = 0; off < texts.length; off += max) {
      const r = await this.embedder.embed(texts.slice(off, off + max), {
        signal: this.abort.signal,
        heartbeat,
      });
      // The client already refuses another version; this also holds every sub-call of the batch
      // to one model and one dimension, so one event never mixes vector spaces.
      if (r.model !== model || r.version !== version || (dims !== 0 && r.dimensions !== dims))
        throw new Error(
          `model-server answered ${r.model}@${r.version} (${r.dimensions} dims) inside a batch of ${model}@${version} (${dims || r.dimensions} dims)`,
        );
      dims = r.dimensions;
      vectors ??= new Float32Array(texts.length * dims);
      vectors.set(r.vectors, off * dims);
    }
    if (!vectors) return events.map(() => undefined);
    const all = vectors;
    const maxBytes = this.bus.maxPayload - EVENT_HEADROOM;
    let row = 0;
    return Promise.all(
      events.map(async (ev) => {
        const n = ev.chunks.length;
        const slice = all.subarray(row * dims, (row + n) * dims);
        row += n;
        try {
          const parts = embeddingEvents(
            ev,
            { model, version, dimensions: dims, vectors: slice },
            maxBytes,
          );
          await Promise.all(
            parts.map((out) =>
              this.bus.publish(
                this.bus.subjects.embedding(ev.tenant, "ready"),
                Events.embeddingsReady,
                out,
                {
                  id: `emb:${version}:${out.chunks[0]?.chunkId ?? msgIdPart(ev.documentId)}:${out.chunks.length}`,
                  source: "/tailor/embedding",
                },
              ),
            ),
          );
          return undefined;
        } catch (err) {
          return err;
        }
      }),
    );
  }
}
