import { createHash } from "node:crypto";
import { JetStreamApiError } from "@nats-io/jetstream";
import {
  headers,
  InvalidArgumentError,
  InvalidSubjectError,
  type MsgHdrs,
} from "@nats-io/transport-node";
import type { Bus } from "./bus.js";

// C0 controls, DEL, C1 controls and unpaired surrogates: none may travel in a header value.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE_IN_HEADER = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/gu;

/** A header value that cannot break a message: controls replaced by spaces, at most `max` characters. */
export function headerSafe(value: string, max = 1000): string {
  return value.replace(UNSAFE_IN_HEADER, " ").slice(0, max);
}

const PLAIN_ID = /^[A-Za-z0-9._~@+=-]{1,64}$/;

/**
 * A piece of a message id (or any header value) made from an id that came from outside: the id
 * itself when it is short and plain, otherwise `#` and its SHA-256, so an id with a line break,
 * a colon or 8,000 bytes still yields a short, header-safe, collision-free key.
 */
export function msgIdPart(id: string): string {
  return PLAIN_ID.test(id) ? id : `#${createHash("sha256").update(id).digest("hex").slice(0, 40)}`;
}

/** How a failed publish should be treated. */
export type PublishErrorKind =
  /** The message itself is at fault (bad header, too large, bad subject): it will never go out. */
  | "permanent"
  /** The server or the connection is unavailable: every message would fail alike; retry later. */
  | "transient"
  /** Anything else: retry a few times, then treat as permanent. */
  | "unknown";

export function publishErrorKind(err: unknown): PublishErrorKind {
  if (err instanceof InvalidArgumentError || err instanceof InvalidSubjectError) return "permanent";
  if (err instanceof JetStreamApiError) {
    // 4xx: the stream refused this message (size, subject…); 5xx: JetStream is unavailable.
    return err.status >= 400 && err.status < 500 ? "permanent" : "transient";
  }
  const name = (err as Error | undefined)?.name ?? "";
  if (
    /^(TimeoutError|ClosedConnectionError|DrainingConnectionError|ConnectionError|NoRespondersError|RequestError|PermissionViolationError|JetStreamNotEnabled)$/.test(
      name,
    )
  )
    return "transient";
  return "unknown";
}

/** A message that never reached its stream (e.g. an outbox row), to keep in the dead-letter stream. */
export interface DeadRecord {
  subject: string;
  data: Uint8Array;
  /** Why it is dead; stored as the `tailor-dlq-reason` header. */
  reason: string;
  /** Who gave up on it, e.g. `ingestion-outbox`. */
  origin: string;
  /** A stable key of the record (e.g. its message id), so a retried dead-lettering is deduplicated. */
  key: string;
  /** CloudEvents type of the payload, when known. */
  type?: string;
  attempts?: number;
}

/** Room kept in a dead-letter message for its headers. */
const HEADER_ROOM = 16 * 1024;

/**
 * Publishes a record to `dlq.<subject>` with the reason. A payload too large to publish again
 * (the usual reason it is dead) is dropped and its size recorded in `tailor-dlq-dropped-bytes`.
 */
export async function deadLetterRecord(bus: Bus, r: DeadRecord): Promise<void> {
  const h: MsgHdrs = headers();
  h.set("tailor-dlq-reason", headerSafe(r.reason));
  h.set("tailor-dlq-subject", headerSafe(r.subject));
  h.set("tailor-dlq-stream", "(none)");
  h.set("tailor-dlq-consumer", headerSafe(r.origin));
  h.set("tailor-dlq-deliveries", String(r.attempts ?? 0));
  if (r.type) h.set("ce-type", headerSafe(r.type));
  h.set("content-type", "application/protobuf");
  const fits = r.data.byteLength <= bus.maxPayload - HEADER_ROOM;
  if (!fits) h.set("tailor-dlq-dropped-bytes", String(r.data.byteLength));
  const id = `dlq:${headerSafe(r.origin, 64)}:${createHash("sha256").update(r.key).digest("hex").slice(0, 40)}`;
  await bus.js.publish(bus.subjects.deadLetter(r.subject), fits ? r.data : new Uint8Array(0), {
    msgID: id,
    headers: h,
    timeout: 10_000,
  });
}
