import { setImmediate } from "node:timers/promises";
import { toJson } from "@bufbuild/protobuf";
import {
  type Bus,
  DurableConsumer,
  decodeEvent,
  Events,
  type JsMsg,
  PoisonMessageError,
  readAttributes,
} from "@tailor/bus";
import type { Insertable } from "@tailor/db";
import { type ChunksDeleted, type ChunksUpserted, VerdictSchema } from "@tailor/proto";
import { checkText, ID_RULE, isFieldError } from "@tailor/service";
import type { GuardContext } from "./context.js";
import type { ChunkVerdictsTable, OutboxTable } from "./db/schema.js";
import { violationRow } from "./events.js";
import { toGuardAction } from "./policy.js";
import { TEXT_RULE } from "./rules.js";
import { judge } from "./verdict.js";

/**
 * Scans every ingested chunk once, as retrieved content (indirect injection, PII), and keeps the
 * verdict with its provenance. One message at a time: scanning is CPU-bound (concurrency would
 * not speed it up) and the stream's order keeps a document's delete behind its upsert.
 */
export class ChunkConsumer {
  readonly consumer: DurableConsumer;

  constructor(
    private readonly ctx: GuardContext,
    bus: Bus,
  ) {
    this.consumer = new DurableConsumer(bus, {
      stream: "CHUNK",
      durable: "guard",
      filterSubject: bus.subjects.all("chunk"),
      maxDeliver: ctx.config.maxDeliver,
      concurrency: 1,
      ackWaitMs: 30_000,
      logger: ctx.logger,
    });
  }

  async start(): Promise<void> {
    await this.consumer.start((m) => this.handle(m));
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
  }

  private async handle(m: JsMsg): Promise<void> {
    const type = readAttributes(m.headers).type;
    if (type === Events.chunksUpserted.type) {
      const ev = decodeEvent(Events.chunksUpserted, m);
      this.ctx.bus.subjects.requireSubjectTenant(m.subject, "chunk", ev.tenant);
      await this.upserted(ev, m);
    } else if (type === Events.chunksDeleted.type) {
      const ev = decodeEvent(Events.chunksDeleted, m);
      this.ctx.bus.subjects.requireSubjectTenant(m.subject, "chunk", ev.tenant);
      await this.deleted(ev);
    } else throw new PoisonMessageError(`unexpected ce-type ${type ?? "(none)"} on ${m.subject}`);
  }

  private async upserted(ev: ChunksUpserted, m: JsMsg): Promise<void> {
    const provenance = poisonUnless(() => ({
      document_id: checkText("document_id", ev.documentId, ID_RULE),
      source: checkText("source", ev.source, ID_RULE),
      document_version: checkText("document_version", ev.documentVersion, {
        ...ID_RULE,
        required: false,
      }),
      revision: ev.revision.toString(),
    }));
    const chunkIds = ev.chunks.map((c, i) =>
      poisonUnless(() => checkText(`chunks[${i}].chunk_id`, c.chunkId, ID_RULE)),
    );
    // Already scanned chunks (a redelivery) are not scanned, stored or reported again.
    const seen = new Set(
      chunkIds.length === 0
        ? []
        : (
            await this.ctx.database.db
              .selectFrom("chunk_verdicts")
              .select("chunk_id")
              .where("tenant", "=", ev.tenant)
              .where("chunk_id", "in", chunkIds)
              .execute()
          ).map((r) => r.chunk_id),
    );
    const g = await this.ctx.guards.get(ev.tenant);
    const rows: Insertable<ChunkVerdictsTable>[] = [];
    const audit: { chunkId: string; row: Insertable<OutboxTable> }[] = [];
    for (const [i, c] of ev.chunks.entries()) {
      if (seen.has(c.chunkId)) continue;
      // A chunk ingestion could not have produced fails its event, never the stream behind it.
      poisonUnless(() => checkText(`chunks[${i}].text`, c.text, TEXT_RULE));
      const { verdict, violation } = judge(g, "content", c.text);
      // The stored verdict holds the chunk's provenance, not its text (that stays in ingestion).
      verdict.text = "";
      rows.push({
        tenant: ev.tenant,
        chunk_id: c.chunkId,
        ...provenance,
        action: toGuardAction(verdict.action) ?? "allow",
        verdict: JSON.stringify(toJson(VerdictSchema, verdict)),
      });
      if (violation)
        audit.push({
          chunkId: c.chunkId,
          row: violationRow(this.ctx.bus.subjects, {
            ...violation,
            chunkId: c.chunkId,
            documentId: ev.documentId,
          }),
        });
      // Long documents: keep the message alive and let RPCs run between chunks.
      if (i % 16 === 15) {
        m.working();
        await setImmediate();
      }
    }
    if (rows.length === 0) return;
    await this.ctx.database.transaction(async (trx) => {
      const stored = await trx
        .insertInto("chunk_verdicts")
        .values(rows)
        .onConflict((oc) => oc.columns(["tenant", "chunk_id"]).doNothing())
        .returning("chunk_id")
        .execute();
      const fresh = new Set(stored.map((r) => r.chunk_id));
      // Only the replica that stored a verdict reports it.
      const events = audit.filter((a) => fresh.has(a.chunkId)).map((a) => a.row);
      if (events.length > 0) await trx.insertInto("outbox").values(events).execute();
    });
    this.ctx.relay.notify();
    this.ctx.logger.debug(
      { tenant: ev.tenant, documentId: ev.documentId, chunks: rows.length, flagged: audit.length },
      "chunks scanned",
    );
  }

  private async deleted(ev: ChunksDeleted): Promise<void> {
    if (ev.chunkIds.length === 0) return;
    await this.ctx.database.db
      .deleteFrom("chunk_verdicts")
      .where("tenant", "=", ev.tenant)
      .where("chunk_id", "in", ev.chunkIds)
      .execute();
  }
}

/** A field error in an event is the event's fault: dead-letter it at once, naming the field. */
function poisonUnless<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isFieldError(err)) throw new PoisonMessageError(err.message);
    throw err;
  }
}
