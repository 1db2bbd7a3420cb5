import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Events, encodeEvent, msgIdPart, type Subjects } from "@tailor/bus";
import type { Insertable } from "@tailor/db";
import { type GuardViolation, GuardViolationSchema } from "@tailor/proto";
import type { OutboxTable } from "./db/schema.js";

type Init<T> = Omit<T, "$typeName" | "$unknown">;

/**
 * The outbox row of a violation. A chunk's verdict is made once, so its id is stable and a
 * redelivered chunk event cannot publish it twice; an RPC's is random (written once, in its
 * own transaction, so the relay's republishes still share it).
 */
export function violationRow(s: Subjects, e: Init<GuardViolation>): Insertable<OutboxTable> {
  const key = e.chunkId ? msgIdPart(e.chunkId) : randomUUID();
  return {
    subject: s.guard(e.tenant, "violation"),
    event_type: Events.guardViolation.type,
    msg_id: `guard-violation:${e.stage}:${e.tenant}:${key}`,
    payload: Buffer.from(encodeEvent(Events.guardViolation, create(GuardViolationSchema, e))),
  };
}
