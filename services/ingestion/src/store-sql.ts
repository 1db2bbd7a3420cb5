import { type Insertable, sql, type Transaction } from "@tailor/db";
import type { DocKey } from "./chunk-events.js";
import type { IngestionDB, OutboxTable } from "./db/schema.js";

/**
 * Where a write stands in the one order the bus and the RPC path share: positions in the DATA
 * stream. A bus event sits at its own sequence and is stale when the document has already
 * applied that position or a later one (so a redelivery or replay is a no-op). An RPC call
 * sits at the stream's last sequence when it wrote, so every bus event published before the
 * call is older than it, and every one published after is newer.
 */
export type WriteOrder = { kind: "event"; seq: number } | { kind: "call"; position: number };

/** True when a write at `order` is already covered by a document at `position`. */
export function isStale(order: WriteOrder, position: number): boolean {
  return order.kind === "event" && position >= order.seq;
}

/** The document's position after a write at `order` (positions never go back). */
export function nextPosition(order: WriteOrder, position: number): number {
  return Math.max(position, order.kind === "event" ? order.seq : order.position);
}

export async function insertOutbox(
  trx: Transaction<IngestionDB>,
  rows: Insertable<OutboxTable>[],
): Promise<void> {
  // Payloads are large, so keep statements moderate.
  for (let off = 0; off < rows.length; off += 1000) {
    await trx
      .insertInto("outbox")
      .values(rows.slice(off, off + 1000))
      .execute();
  }
}

export function rowKey(r: { tenant: string; source: string; external_id: string }): DocKey {
  return { tenant: r.tenant, source: r.source, id: r.external_id };
}

export function docKey(k: DocKey): string {
  return `${k.tenant}\u001f${k.source}\u001f${k.id}`;
}

/** Serialises concurrent changes to these documents (also across replicas), in a fixed order. */
export async function lockDocuments(trx: Transaction<IngestionDB>, keys: string[]): Promise<void> {
  const sorted = [...keys].sort();
  await sql`select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest(${sorted}::text[]) with ordinality as u(k, n) order by n`.execute(
    trx,
  );
}
