import { randomBytes, randomUUID } from "node:crypto";
import { type MsgHdrs, headers as natsHeaders } from "@nats-io/transport-node";
import { trace } from "@opentelemetry/api";
import { injectTraceContext } from "@tailor/telemetry";

export const PROTOBUF = "application/protobuf";
export const CLOUDEVENTS_JSON = "application/cloudevents+json";

/** CloudEvents 1.0 attributes carried in NATS headers (binary content mode). */
export interface EventAttributes {
  id: string;
  type: string;
  source: string;
  time: string;
  subject?: string;
  contentType: string;
  traceparent?: string;
}

/**
 * Builds headers with the CloudEvents attributes and a W3C trace context. When no span is
 * active a fresh root context is made, so every event can still be followed across services.
 */
export function buildHeaders(
  attrs: Omit<EventAttributes, "time" | "traceparent"> & { time?: string },
): MsgHdrs {
  const h = natsHeaders();
  h.set("ce-specversion", "1.0");
  h.set("ce-id", attrs.id);
  h.set("ce-type", attrs.type);
  h.set("ce-source", attrs.source);
  h.set("ce-time", attrs.time ?? new Date().toISOString());
  if (attrs.subject) h.set("ce-subject", attrs.subject);
  h.set("content-type", attrs.contentType);
  const carrier: Record<string, string> = {};
  injectTraceContext(carrier);
  const traceparent = carrier["traceparent"] ?? currentOrNewTraceparent();
  h.set("traceparent", traceparent);
  if (carrier["tracestate"]) h.set("tracestate", carrier["tracestate"]);
  return h;
}

export function readAttributes(h: MsgHdrs | undefined): Partial<EventAttributes> {
  if (!h) return {};
  const get = (k: string) => h.get(k) || undefined;
  return {
    id: get("ce-id") ?? get("Nats-Msg-Id"),
    type: get("ce-type"),
    source: get("ce-source"),
    time: get("ce-time"),
    subject: get("ce-subject"),
    contentType: get("content-type") ?? get("Content-Type"),
    traceparent: get("traceparent"),
  };
}

function currentOrNewTraceparent(): string {
  const sc = trace.getActiveSpan()?.spanContext();
  if (sc && sc.traceId !== "00000000000000000000000000000000") {
    return `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`;
  }
  return `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`;
}

/** A fresh event id for events that have no natural idempotency key. */
export function newEventId(): string {
  return randomUUID();
}
