import type { Subjects } from "@tailor/bus";
import { sql, type Transaction } from "@tailor/db";
import { type DocKey, deletedEventRows } from "./chunk-events.js";
import type { IngestionDB } from "./db/schema.js";
import {
  docKey,
  insertOutbox,
  isStale,
  lockDocuments,
  nextPosition,
  type WriteOrder,
} from "./store-sql.js";

/**
 * Deletes a document and retires its chunks inside `trx`. A bus delete of a document not seen
 * yet leaves a tombstone at its position, so an older upsert that arrives later cannot bring
 * it back; an RPC delete of an unknown document leaves nothing (the caller gets NOT_FOUND).
 */
export async function deleteInTransaction(
  trx: Transaction<IngestionDB>,
  key: DocKey,
  order: WriteOrder,
  o: { subjects: Subjects; maxEventBytes: number },
): Promise<{ found: boolean; retired: number }> {
  await lockDocuments(trx, [docKey(key)]);
  const existing = await trx
    .selectFrom("documents")
    .select(["revision", "deleted", "data_position"])
    .where("tenant", "=", key.tenant)
    .where("source", "=", key.source)
    .where("external_id", "=", key.id)
    .executeTakeFirst();
  const prevPosition = Number(existing?.data_position ?? 0);
  if (isStale(order, prevPosition))
    return { found: Boolean(existing && !existing.deleted), retired: 0 };
  const position = String(nextPosition(order, prevPosition));
  if (!existing) {
    if (order.kind === "event") {
      await trx
        .insertInto("documents")
        .values({
          tenant: key.tenant,
          source: key.source,
          external_id: key.id,
          title: "",
          content_type: "",
          version: "",
          revision: "0",
          metadata: "{}" as unknown as Record<string, string>,
          chunk_count: 0,
          deleted: true,
          data_position: position,
        })
        .execute();
    }
    return { found: false, retired: 0 };
  }
  const update = trx
    .updateTable("documents")
    .where("tenant", "=", key.tenant)
    .where("source", "=", key.source)
    .where("external_id", "=", key.id);
  if (existing.deleted) {
    await update.set({ data_position: position }).execute();
    return { found: false, retired: 0 };
  }
  const revision = BigInt(existing.revision) + 1n;
  const old = await trx
    .deleteFrom("chunks")
    .where("tenant", "=", key.tenant)
    .where("source", "=", key.source)
    .where("external_id", "=", key.id)
    .returning("chunk_id")
    .execute();
  if (old.length > 0) {
    const ids = old.map((r) => r.chunk_id);
    await insertOutbox(trx, deletedEventRows(o.subjects, key, ids, revision, o.maxEventBytes));
  }
  await update
    .set({
      deleted: true,
      chunk_count: 0,
      revision: String(revision),
      updated_at: sql`now()`,
      data_position: position,
    })
    .execute();
  return { found: true, retired: old.length };
}
