import { create } from "@bufbuild/protobuf";
import { type ListModelsResponse, ListModelsResponseSchema } from "@tailor/proto";
import type { ModelRegistry } from "../registry.js";

/** Every loaded model with its kind, provider, size and current queue depth. */
export function listModels(registry: ModelRegistry): ListModelsResponse {
  return create(ListModelsResponseSchema, { models: registry.list() });
}
