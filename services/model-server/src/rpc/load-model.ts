import { create } from "@bufbuild/protobuf";
import { parseModelRef } from "@tailor/artifacts";
import {
  type LoadModelRequest,
  type LoadModelResponse,
  LoadModelResponseSchema,
} from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import { infoOf, type ModelRegistry } from "../registry.js";
import { loadError } from "./errors.js";

/**
 * Loads a model from the artifact store (the newest version when none is given). Loading a
 * version already loaded returns it as it is. Errors: NOT_FOUND when the store has no such
 * model or version; FAILED_PRECONDITION when it exists but cannot be loaded (a missing file such
 * as tokenizer.json, a checksum mismatch, an adapter whose base is not loaded).
 */
export async function loadModel(
  registry: ModelRegistry,
  req: LoadModelRequest,
): Promise<LoadModelResponse> {
  if (!req.name) throw invalidArgument("name", "is required");
  const ref = parseModelRef(req.version ? `${req.name}@${req.version}` : req.name);
  if (typeof ref === "string") throw invalidArgument(req.version ? "name or version" : "name", ref);
  if (req.base) {
    const base = parseModelRef(req.base);
    if (typeof base === "string") throw invalidArgument("base", base);
  }
  try {
    const model = await registry.load(ref.name, ref.version, req.base);
    return create(LoadModelResponseSchema, { model: infoOf(model) });
  } catch (err) {
    throw loadError(err);
  }
}
