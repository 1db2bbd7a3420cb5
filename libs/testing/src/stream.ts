import type { Bus, StreamKey } from "@tailor/bus";

/** One message of a stream as a test reads it: its subject (without the bus prefix) and bytes. */
export interface StreamMessage {
  seq: number;
  subject: string;
  data: Uint8Array;
}

/**
 * Every message a stream holds now, oldest first (optionally only those on `subject`, given
 * with or without the bus prefix): what a test asserts events against.
 */
export async function streamMessages(
  bus: Bus,
  key: StreamKey,
  subject?: string,
): Promise<StreamMessage[]> {
  const name = bus.subjects.stream(key);
  const { first_seq, last_seq } = (await bus.jsm.streams.info(name)).state;
  const want = subject === undefined ? undefined : bus.subjects.strip(subject);
  const out: StreamMessage[] = [];
  for (let seq = Math.max(1, first_seq); seq <= last_seq; seq++) {
    const m = await bus.jsm.streams.getMessage(name, { seq }).catch(() => null);
    if (!m) continue;
    const s = bus.subjects.strip(m.subject);
    if (want === undefined || s === want) out.push({ seq, subject: s, data: m.data });
  }
  return out;
}
