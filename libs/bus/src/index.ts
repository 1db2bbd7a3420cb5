export type { JsMsg } from "@nats-io/jetstream";
export { type Backlog, consumerBacklog } from "./backlog.js";
export { Bus, type BusAuth, type BusOptions, type PublishOptions } from "./bus.js";
export { ClaimStore } from "./claim-check.js";
export {
  buildHeaders,
  CLOUDEVENTS_JSON,
  type EventAttributes,
  newEventId,
  PROTOBUF,
  readAttributes,
} from "./cloudevents.js";
export {
  type BatchHandler,
  type ConsumerOptions,
  DurableConsumer,
  deadLetter,
  type Handler,
  type Outcome,
} from "./consumer.js";
export { type DataDocument, type PublishDataOptions, publishDataEvent } from "./data-publisher.js";
export {
  type DeadRecord,
  deadLetterRecord,
  headerSafe,
  msgIdPart,
  type PublishErrorKind,
  publishErrorKind,
} from "./dead-letter.js";
export { isPoisonMessageError, PoisonMessageError, TransientError } from "./errors.js";
export { decodeEvent, type EventDef, Events, encodeEvent } from "./events.js";
export { type AliasCache, type AliasChange, ModelEventFollower } from "./model-follower.js";
export {
  deleteStreams,
  ensureStreams,
  StreamConflictError,
  type StreamOptions,
  streamConfigs,
} from "./streams.js";
export {
  busPrefixProblem,
  type DataOp,
  InvalidBusPrefixError,
  InvalidTokenError,
  isValidToken,
  STREAM_KEYS,
  type StreamKey,
  type SubjectRoot,
  Subjects,
} from "./subjects.js";
