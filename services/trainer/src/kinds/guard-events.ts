import { type Bus, decodeEvent, Events, type JsMsg, type StreamKey } from "@tailor/bus";
import type { Logger } from "@tailor/telemetry";

/** Longest question kept (the classifier reads the first 4096 characters of a text anyway). */
const MAX_QUESTION_CHARS = 4096;
/** Of each kind of example (flagged, allowed, reported) at most this many, the newest. */
const MAX_KEPT = 5000;
/** A stream that goes quiet this long before the snapshot's last message was read has failed. */
const IDLE_MS = 15_000;

/** What the guard was told about one tenant's questions, from the bus. */
export interface TenantGuardEvents {
  /** Questions the guard blocked or flagged at the gateway (by interaction id). */
  flagged: Map<string, string>;
  /** Questions the guard let through (allowed, or only redacted): the tenant's own traffic. */
  allowed: Map<string, string>;
  /** Questions reported as false positives (by interaction id, or by feedback id when none). */
  falsePositives: Map<string, string>;
  /** Messages read from each stream, and whether a stream held more than the bound. */
  read: { interactions: number; feedback: number; truncated: boolean };
}

/**
 * Reads one tenant's interaction records and feedback from the bus with ordered consumers
 * filtered to its subjects, from the oldest message to the last one there when the read began,
 * at most `maxEvents` messages per stream. A flagged or blocked question is a positive; a
 * question whose feedback says the guard acted on something harmless is a negative, and a
 * negative wins over a positive of the same interaction or text. Questions let through are the
 * tenant's ordinary traffic (negatives too: see buildGuardDataset). A message that does not decode
 * or names another tenant is skipped.
 */
export async function readTenantGuardEvents(
  bus: Bus,
  tenant: string,
  o: { maxEvents: number; signal: AbortSignal; logger: Logger },
): Promise<TenantGuardEvents> {
  const flagged = new Map<string, string>();
  const allowed = new Map<string, string>();
  const falsePositives = new Map<string, string>();
  // Reported interactions whose feedback carries no question: the interaction record has it.
  const unnamed = new Set<string>();
  // Feedback first, so that no interaction's question has to be kept in case it is reported.
  const feedback = await readSubject(
    bus,
    "FEEDBACK",
    bus.subjects.feedback(tenant, "received"),
    o,
    (m) => {
      const e = decodeEvent(Events.feedbackReceived, m);
      if (e.tenant !== tenant || !e.guardFalsePositive) return;
      const q = cleanQuestion(e.question);
      if (q) keep(falsePositives, e.interaction || `feedback:${e.feedbackId || m.seq}`, q);
      else if (e.interaction && unnamed.size < MAX_KEPT) unnamed.add(e.interaction);
    },
  );
  const interactions = await readSubject(
    bus,
    "INTERACTION",
    bus.subjects.interaction(tenant, "logged"),
    o,
    (m) => {
      const e = decodeEvent(Events.interactionLogged, m);
      if (e.tenant !== tenant || !e.interactionId) return;
      const q = cleanQuestion(e.question);
      if (!q) return;
      if (unnamed.has(e.interactionId)) keep(falsePositives, e.interactionId, q);
      else if (e.inputAction === "block" || e.inputAction === "flag")
        keep(flagged, e.interactionId, q);
      else if (e.inputAction === "allow" || e.inputAction === "redact")
        keep(allowed, e.interactionId, q);
    },
  );
  const harmless = new Set(falsePositives.values());
  for (const [id, q] of flagged) if (falsePositives.has(id) || harmless.has(q)) flagged.delete(id);
  // A text that was also blocked is not evidence of harmless traffic; a reported one is a
  // false positive already.
  const blocked = new Set(flagged.values());
  for (const [id, q] of allowed)
    if (blocked.has(q) || harmless.has(q) || falsePositives.has(id)) allowed.delete(id);
  return {
    flagged,
    allowed,
    falsePositives,
    read: {
      interactions: interactions.read,
      feedback: feedback.read,
      truncated: interactions.truncated || feedback.truncated,
    },
  };
}

/** Keeps the newest MAX_KEPT entries: what a job holds stays bounded whatever the stream holds. */
function keep(m: Map<string, string>, key: string, value: string): void {
  m.delete(key);
  m.set(key, value);
  if (m.size > MAX_KEPT) m.delete(m.keys().next().value!);
}

/** Redacted questions may still hold control characters; NUL and lone surrogates are dropped. */
export function cleanQuestion(q: string): string {
  return q
    .slice(0, MAX_QUESTION_CHARS)
    .replace(/\p{Cs}|\0/gu, "")
    .trim();
}

/**
 * Reads one subject of a stream with an ordered consumer, from its oldest message to the last one
 * there when the read began, at most `maxEvents` messages; a message `apply` throws on is skipped.
 */
export async function readSubject(
  bus: Bus,
  key: StreamKey,
  subject: string,
  o: { maxEvents: number; signal: AbortSignal; logger: Logger },
  apply: (m: JsMsg) => void,
): Promise<{ read: number; truncated: boolean }> {
  const stream = bus.subjects.stream(key);
  const info = await bus.jsm.streams.info(stream, { subjects_filter: subject });
  const count = info.state.subjects?.[subject] ?? 0;
  const lastSeq = info.state.last_seq;
  if (count === 0) return { read: 0, truncated: false };
  const consumer = await bus.js.consumers.get(stream, {
    // One subject as a string: nats-server before 2.10 refuses the list form.
    filter_subjects: subject,
  });
  const messages = await consumer.consume({ max_messages: 512 });
  let read = 0;
  let idle: NodeJS.Timeout | undefined;
  let stalled = false;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      stalled = true;
      void messages.stop();
    }, IDLE_MS);
  };
  const stop = () => void messages.stop();
  o.signal.addEventListener("abort", stop, { once: true });
  arm();
  try {
    for await (const m of messages) {
      arm();
      read++;
      try {
        apply(m);
      } catch (err) {
        o.logger.warn(
          { subject: bus.subjects.strip(m.subject), seq: m.seq, err: (err as Error).message },
          "event skipped: it does not decode",
        );
      }
      if (m.info.pending === 0 || m.seq >= lastSeq || read >= o.maxEvents) break;
    }
  } finally {
    clearTimeout(idle);
    o.signal.removeEventListener("abort", stop);
    stop();
  }
  o.signal.throwIfAborted();
  if (stalled) throw new Error(`reading ${key} stalled after ${read} of ${count} messages`);
  return { read, truncated: count > o.maxEvents };
}
