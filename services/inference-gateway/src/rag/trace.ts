import { randomBytes } from "node:crypto";

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const ZERO_TRACE = "0".repeat(32);

/** A request's trace: the caller's W3C `traceparent` trace id when valid, else a new one. */
export interface Trace {
  traceId: string;
  /** The `traceparent` sent on downstream calls (a new span id under the same trace). */
  traceparent: string;
}

export function traceOf(traceparent: string | null | undefined): Trace {
  const m = traceparent ? TRACEPARENT.exec(traceparent.trim().toLowerCase()) : null;
  const id = m?.[1];
  const traceId =
    id && id !== ZERO_TRACE && m[2] !== "0".repeat(16) ? id : randomBytes(16).toString("hex");
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` };
}
