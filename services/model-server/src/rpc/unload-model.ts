import { create } from "@bufbuild/protobuf";
import {
  type UnloadModelRequest,
  type UnloadModelResponse,
  UnloadModelResponseSchema,
} from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import type { ModelRegistry } from "../registry.js";

/**
 * Unloads `name` at `version`, or every loaded version when `version` is empty. Calls already
 * queued finish first; new ones get NOT_FOUND. The default embedder cannot be unloaded, nor a
 * base embedder while adapters over it are loaded (FAILED_PRECONDITION).
 */
export async function unloadModel(
  registry: ModelRegistry,
  req: UnloadModelRequest,
): Promise<UnloadModelResponse> {
  if (!req.name) throw invalidArgument("name", "is required");
  await registry.unload(req.name, req.version);
  return create(UnloadModelResponseSchema, {});
}
