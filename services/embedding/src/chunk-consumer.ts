import { create } from "@bufbuild/protobuf";
import {
  type Bus,
  DurableConsumer,
  decodeEvent,
  Events,
  type JsMsg,
  type Outcome,
  PoisonMessageError,
  readAttributes,
} from "@tailor/bus";
import type { EmbedderClient } from "@tailor/clients";
import {
  type ChunksDeleted,
  type ChunksUpserted,
  EmbeddedChunkSchema,
  EmbeddingsDeletedSchema,
  EmbeddingsReadySchema,
} from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";
import type { EmbeddingConfig } from "./config.js";

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
        await this.embedAndPublish(
          batch.map((p) => p.ev),
          heartbeat,
        );
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
        const id = `emb-deleted:${deleted.tenant}:${deleted.source}:${deleted.documentId}:${deleted.revision}`;
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

  private decode(m: JsMsg): Decoded {
    const type = readAttributes(m.headers).type;
    if (type === Events.chunksUpserted.type)
      return { kind: "upserted", ev: decodeEvent(Events.chunksUpserted, m) };
    if (type === Events.chunksDeleted.type)
      return { kind: "deleted", ev: decodeEvent(Events.chunksDeleted, m) };
    throw new PoisonMessageError(`unexpected ce-type ${type ?? "(none)"} on ${m.subject}`);
  }

  /** Embeds all chunks of these events in model calls of bounded size; one output event per input event. */
  private async embedAndPublish(events: ChunksUpserted[], heartbeat: () => void): Promise<void> {
    const texts: string[] = [];
    for (const ev of events)
      for (const c of ev.chunks) texts.push(ev.title ? `${ev.title}\n${c.text}` : c.text);
    const max = this.config.batch.maxTexts;
    let vectors: Float32Array | undefined;
    let dims = 0;
    let model = "";
    let version = "";
    for (let off = 0; off < texts.length; off += max) {
      const r = await this.embedder.embed(texts.slice(off, off + max), {
        signal: this.abort.signal,
        heartbeat,
      });
      dims = r.dimensions;
      model = r.model;
      version = r.version;
      vectors ??= new Float32Array(texts.length * dims);
      vectors.set(r.vectors, off * dims);
    }
    if (!vectors) return;
    let row = 0;
    await Promise.all(
      events.map((ev) => {
        const n = ev.chunks.length;
        const slice = vectors.subarray(row * dims, (row + n) * dims);
        row += n;
        const out = create(EmbeddingsReadySchema, {
          tenant: ev.tenant,
          model,
          modelVersion: version,
          dimensions: dims,
          chunks: ev.chunks.map((c) =>
            create(EmbeddedChunkSchema, {
              chunkId: c.chunkId,
              source: ev.source,
              documentId: ev.documentId,
              title: ev.title,
              text: c.text,
              index: c.index,
              metadata: ev.metadata,
              revision: ev.revision,
            }),
          ),
          vectors: new Uint8Array(
            slice.buffer.slice(slice.byteOffset, slice.byteOffset + slice.byteLength),
          ),
        });
        const id = `emb:${version}:${ev.chunks[0]?.chunkId ?? ev.documentId}:${n}`;
        return this.bus.publish(
          this.bus.subjects.embedding(ev.tenant, "ready"),
          Events.embeddingsReady,
          out,
          { id, source: "/tailor/embedding" },
        );
      }),
    );
  }
}
