import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Events, encodeEvent, type Subjects } from "@tailor/bus";
import type { Insertable } from "@tailor/db";
import {
  type ModelPromoted,
  ModelPromotedSchema,
  type ModelRejected,
  ModelRejectedSchema,
  type ModelRolledBack,
  ModelRolledBackSchema,
} from "@tailor/proto";
import type { OutboxTable } from "./db/schema.js";

type Init<T> = Omit<T, "$typeName" | "$unknown">;

// Each row is written once, in the transaction that made the change, so a random part in its
// message id is stable across the relay's republishes of that row.

export function promotedRow(s: Subjects, e: Init<ModelPromoted>): Insertable<OutboxTable> {
  return {
    subject: s.model(e.tenant, "promoted"),
    event_type: Events.modelPromoted.type,
    msg_id: `model-promoted:${e.tenant}:${e.model}:${e.alias}:${randomUUID()}`,
    payload: Buffer.from(encodeEvent(Events.modelPromoted, create(ModelPromotedSchema, e))),
  };
}

export function rolledBackRow(s: Subjects, e: Init<ModelRolledBack>): Insertable<OutboxTable> {
  return {
    subject: s.model(e.tenant, "rolled_back"),
    event_type: Events.modelRolledBack.type,
    msg_id: `model-rolled-back:${e.tenant}:${e.model}:${e.alias}:${randomUUID()}`,
    payload: Buffer.from(encodeEvent(Events.modelRolledBack, create(ModelRolledBackSchema, e))),
  };
}

export function rejectedRow(s: Subjects, e: Init<ModelRejected>): Insertable<OutboxTable> {
  return {
    subject: s.model(e.tenant, "rejected"),
    event_type: Events.modelRejected.type,
    // A version is rejected once.
    msg_id: `model-rejected:${e.tenant}:${e.version}`,
    payload: Buffer.from(encodeEvent(Events.modelRejected, create(ModelRejectedSchema, e))),
  };
}
