import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { JsMsg } from "@nats-io/jetstream";
import {
  ChunksDeletedSchema,
  ChunksUpsertedSchema,
  DataEventSchema,
  EmbeddingsDeletedSchema,
  EmbeddingsReadySchema,
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
