/**
 * The gateway's contract, `@tailor/proto/gateway`: apart from the rest because its message names
 * (SearchRequest, ListModelsResponse, …) are also retrieval's and the model-server's.
 */
export * from "./gen/tailor/gateway/v1/gateway_pb.js";
