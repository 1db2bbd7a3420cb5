import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { JsMsg } from "@nats-io/jetstream";
import {
  ChunksDeletedSchema,
  ChunksUpsertedSchema,
  DataEventSchema,
  EmbeddingsDeletedSchema,
  EmbeddingsReadySchema,
  EvalCompletedSchema,
  EvalRegressedSchema,
  FeedbackReceivedSchema,
  GuardViolationSchema,
  InteractionLoggedSchema,
  LoraJobSpecSchema,
  LoraJobStatusSchema,
  ModelPromotedSchema,
  ModelRejectedSchema,
  ModelRolledBackSchema,
  ModelTrainedSchema,
  TrainingRequestedSchema,
  TrainingStatusSchema,
} from "@tailor/proto";
import { PROTOBUF, readAttributes } from "./cloudevents.js";
import { PoisonMessageError } from "./errors.js";

/** A typed event: its CloudEvents type and its protobuf schema. */
export interface EventDef<S extends DescMessage> {
  type: string;
  schema: S;
}

function def<S extends DescMessage>(type: string, schema: S): EventDef<S> {
  return { type, schema };
}

/** Every event Tailor publishes, declared once. */
export const Events = {
  dataUpsert: def("tailor.data.upsert.v1", DataEventSchema),
  dataDelete: def("tailor.data.delete.v1", DataEventSchema),
  chunksUpserted: def("tailor.chunk.upserted.v1", ChunksUpsertedSchema),
  chunksDeleted: def("tailor.chunk.deleted.v1", ChunksDeletedSchema),
  embeddingsReady: def("tailor.embedding.ready.v1", EmbeddingsReadySchema),
  embeddingsDeleted: def("tailor.embedding.deleted.v1", EmbeddingsDeletedSchema),
  modelPromoted: def("tailor.model.promoted.v1", ModelPromotedSchema),
  modelRolledBack: def("tailor.model.rolled_back.v1", ModelRolledBackSchema),
  modelRejected: def("tailor.model.rejected.v1", ModelRejectedSchema),
  modelTrained: def("tailor.model.trained.v1", ModelTrainedSchema),
  trainingRequested: def("tailor.training.requested.v1", TrainingRequestedSchema),
  /** progress, succeeded, failed and cancelled share one message; the subject says which. */
  trainingStatus: def("tailor.training.status.v1", TrainingStatusSchema),
  evalCompleted: def("tailor.eval.completed.v1", EvalCompletedSchema),
  evalRegressed: def("tailor.eval.regressed.v1", EvalRegressedSchema),
  feedbackReceived: def("tailor.feedback.received.v1", FeedbackReceivedSchema),
  loraSubmitted: def("tailor.lora.submitted.v1", LoraJobSpecSchema),
  loraStatus: def("tailor.lora.status.v1", LoraJobStatusSchema),
  guardViolation: def("tailor.guard.violation.v1", GuardViolationSchema),
  interactionLogged: def("tailor.interaction.logged.v1", InteractionLoggedSchema),
} as const;

export function encodeEvent<S extends DescMessage>(
  d: EventDef<S>,
  msg: MessageShape<S>,
): Uint8Array {
  return toBinary(d.schema, msg);
}

/** Decodes a protobuf event, turning any decoding problem into a poison-message error. */
export function decodeEvent<S extends DescMessage>(d: EventDef<S>, msg: JsMsg): MessageShape<S> {
  const attrs = readAttributes(msg.headers);
  if (attrs.type && attrs.type !== d.type) {
    throw new PoisonMessageError(`ce-type ${attrs.type} is not ${d.type}`);
  }
  if (attrs.contentType && attrs.contentType !== PROTOBUF) {
    throw new PoisonMessageError(`content-type ${attrs.contentType} is not ${PROTOBUF}`);
  }
  try {
    return fromBinary(d.schema, msg.data);
  } catch (err) {
    throw new PoisonMessageError(`not a valid ${d.schema.typeName}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
