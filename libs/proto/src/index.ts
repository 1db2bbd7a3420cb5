/** Generated protobuf-es messages and service descriptors of every Tailor contract. */

export * from "./gen/grpc/health/v1/health_pb.js";
export * as reflectionV1 from "./gen/grpc/reflection/v1/reflection_pb.js";
export * as reflectionV1alpha from "./gen/grpc/reflection/v1alpha/reflection_pb.js";
export * from "./gen/tailor/evaluator/v1/evaluator_pb.js";
export * from "./gen/tailor/events/v1/chunk_pb.js";
export * from "./gen/tailor/events/v1/data_pb.js";
export * from "./gen/tailor/events/v1/embedding_pb.js";
export * from "./gen/tailor/events/v1/eval_pb.js";
export * from "./gen/tailor/events/v1/guard_pb.js";
export * from "./gen/tailor/events/v1/interaction_pb.js";
export * from "./gen/tailor/events/v1/model_pb.js";
export * from "./gen/tailor/events/v1/training_pb.js";
export * from "./gen/tailor/guard/v1/guard_pb.js";
export * from "./gen/tailor/ingestion/v1/ingestion_pb.js";
export * from "./gen/tailor/model/v1/model_pb.js";
export * from "./gen/tailor/registry/v1/registry_pb.js";
export * from "./gen/tailor/retrieval/v1/retrieval_pb.js";
export * from "./gen/tailor/trainer/v1/trainer_pb.js";
