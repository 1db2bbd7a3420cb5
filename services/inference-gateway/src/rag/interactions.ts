import type { MessageInitShape } from "@bufbuild/protobuf";
import { create, toJson } from "@bufbuild/protobuf";
import { Events, encodeEvent } from "@tailor/bus";
import { GuardViolationSchema, InteractionLoggedSchema } from "@tailor/proto";
import type { GatewayContext } from "../context.js";

/**
 * Keeps one answered request: the `interactions` row and its `interaction.<tenant>.logged` event
 * in one statement (the relay publishes the event after commit). The question and answer are
 * as the guard returned them: redacted per the tenant's policy, never raw.
 */
export async function logInteraction(
  ctx: GatewayContext,
  record: MessageInitShape<typeof InteractionLoggedSchema>,
  /** The audit record of a streamed answer's output check (the guard records none per window). */
  violation?: MessageInitShape<typeof GuardViolationSchema>,
): Promise<void> {
  const e = create(InteractionLoggedSchema, record);
  const events = [
    {
      subject: ctx.bus.subjects.interaction(e.tenant, "logged"),
      event_type: Events.interactionLogged.type,
      // One interaction, one event: the relay's republishes of this row deduplicate.
      msg_id: `interaction-logged:${e.tenant}:${e.interactionId}`,
      payload: Buffer.from(encodeEvent(Events.interactionLogged, e)),
    },
  ];
  if (violation)
    events.push({
      subject: ctx.bus.subjects.guard(e.tenant, "violation"),
      event_type: Events.guardViolation.type,
      msg_id: `guard-violation:output:${e.tenant}:${e.interactionId}`,
      payload: Buffer.from(
        encodeEvent(Events.guardViolation, create(GuardViolationSchema, violation)),
      ),
    });
  // One statement (a data-modifying CTE), so one round trip, and atomic like a transaction.
  await ctx.database.db
    .with("logged", (db) =>
      db
        .insertInto("interactions")
        .values({
          id: e.interactionId,
          tenant: e.tenant,
          key_id: e.keyId,
          api: e.api,
          question: e.question,
          answer: e.answer,
          record: JSON.stringify(toJson(InteractionLoggedSchema, e)),
        })
        .returning("id"),
    )
    .insertInto("outbox")
    .values(events)
    .execute();
  ctx.relay.notify();
}
