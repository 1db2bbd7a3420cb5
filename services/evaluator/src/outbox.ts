import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { type EventDef, encodeEvent } from "@tailor/bus";
import type { Transaction } from "@tailor/db";
import type { EvaluatorDB } from "./db/schema.js";

/**
 * Writes an event into the outbox inside the caller's transaction, so it is published exactly
 * when the state it describes is committed. `msgId` is the broker's idempotency key.
 */
export async function enqueue<S extends DescMessage>(
  trx: Transaction<EvaluatorDB>,
  subject: string,
  def: EventDef<S>,
  msg: MessageShape<S>,
  msgId: string,
): Promise<void> {
  await trx
    .insertInto("outbox")
    .values({
      subject,
      event_type: def.type,
      msg_id: msgId,
      payload: Buffer.from(encodeEvent(def, msg)),
    })
    .execute();
}
