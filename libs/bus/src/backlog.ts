import type { Bus } from "./bus.js";
import type { StreamKey } from "./subjects.js";

export interface Backlog {
  /** Messages not yet delivered plus delivered but unacknowledged, summed over the consumers. */
  messages: number;
  /** How many consumers matched. */
  consumers: number;
}

/**
 * The backlog of the durable consumers of `stream` named `durable` or `durable-<suffix>` (the
 * retrieval service keeps one consumer per index, named after the index).
 */
export async function consumerBacklog(
  bus: Bus,
  stream: StreamKey,
  durable: string,
): Promise<Backlog> {
  let messages = 0;
  let consumers = 0;
  for await (const c of bus.jsm.consumers.list(bus.subjects.stream(stream))) {
    const name = c.config.durable_name ?? c.name;
    if (name !== durable && !name.startsWith(`${durable}-`)) continue;
    consumers++;
    messages += c.num_pending + c.num_ack_pending;
  }
  return { messages, consumers };
}
