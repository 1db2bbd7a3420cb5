import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { PubAck } from "@nats-io/jetstream";
import { type DataEvent, DataEventSchema } from "@tailor/proto";
import type { Bus } from "./bus.js";
import { CLOUDEVENTS_JSON } from "./cloudevents.js";
import { Events, encodeEvent } from "./events.js";
import type { DataOp } from "./subjects.js";

export interface DataDocument {
  id: string;
  title?: string;
  text?: string;
  contentType?: string;
  metadata?: Record<string, string>;
}

export interface PublishDataOptions {
  /** protobuf (default) or CloudEvents 1.0 structured JSON. */
  format?: "protobuf" | "cloudevents";
  /** CloudEvents `source` of the publishing system. */
  source?: string;
  /** Idempotency key; by default a hash of tenant, source, op and the document's content. */
  eventId?: string;
}

/** Room left in a message for headers and framing. */
const HEADROOM = 16 * 1024;

/**
 * Publishes a document as a data event the way an enterprise system would. A body that would
 * not fit in one message is stored by claim check and the event carries the reference.
 */
export async function publishDataEvent(
  bus: Bus,
  tenant: string,
  source: string,
  op: DataOp,
  doc: DataDocument,
  o: PublishDataOptions = {},
): Promise<{ duplicate: boolean; seq: number; claimed: boolean }> {
  const subject = bus.subjects.data(tenant, source, op);
  // The default id is a hash of the content, so publishing the same document twice is deduplicated.
  const id =
    o.eventId ??
    createHash("sha256")
      .update(
        JSON.stringify([
          tenant,
          source,
          op,
          doc.id,
          doc.title ?? "",
          doc.contentType ?? "",
          doc.text ?? "",
          doc.metadata ?? {},
        ]),
      )
      .digest("hex")
      .slice(0, 40);
  const ev: DataEvent = create(DataEventSchema, {
    id: doc.id,
    title: doc.title ?? "",
    text: doc.text ?? "",
    contentType: doc.contentType ?? "",
    metadata: doc.metadata ?? {},
  });
  let claimed = false;
  const textBytes = Buffer.byteLength(ev.text, "utf8");
  if (textBytes > bus.maxPayload - HEADROOM) {
    const store = await bus.claimStore();
    ev.textRef = await store.put(Buffer.from(ev.text, "utf8"));
    ev.text = "";
    claimed = true;
  }
  const type = op === "upsert" ? Events.dataUpsert.type : Events.dataDelete.type;
  const ceSource = o.source ?? `/systems/${source}`;
  let ack: PubAck;
  if (o.format === "cloudevents") {
    const body = {
      specversion: "1.0",
      id,
      source: ceSource,
      type,
      time: new Date().toISOString(),
      datacontenttype: "application/json",
      data: {
        id: ev.id,
        title: ev.title,
        text: ev.text,
        content_type: ev.contentType,
        metadata: ev.metadata,
        ...(ev.textRef
          ? {
              text_ref: {
                bucket: ev.textRef.bucket,
                name: ev.textRef.name,
                size: Number(ev.textRef.size),
                sha256: ev.textRef.sha256,
              },
            }
          : {}),
      },
    };
    ack = await bus.publishRaw(subject, Buffer.from(JSON.stringify(body)), {
      id,
      type,
      source: ceSource,
      contentType: CLOUDEVENTS_JSON,
    });
  } else {
    const d = op === "upsert" ? Events.dataUpsert : Events.dataDelete;
    ack = await bus.publishRaw(subject, encodeEvent(d, ev), {
      id,
      type,
      source: ceSource,
      contentType: "application/protobuf",
    });
  }
  return { duplicate: ack.duplicate, seq: ack.seq, claimed };
}
