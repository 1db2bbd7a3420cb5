import { create } from "@bufbuild/protobuf";
import { isValidToken } from "@tailor/bus";
import {
  type CheckChunksRequest,
  type CheckChunksResponse,
  CheckChunksResponseSchema,
} from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import type { VectorStore } from "@tailor/vector";
import type { ChunkCatalog } from "../catalog.js";

const MAX_IDS = 1000;
/** Chunk ids are 32 hex digits; anything much longer cannot be one. */
const MAX_ID_CHARS = 128;

/**
 * Which of the given chunks the index holds: what a client polls to wait until documents are
 * searchable. A chunk is held when keyword search knows it and, once the version the tenant is
 * served at is known, that version holds its vector (a chunk only another index version holds
 * is not searchable yet).
 */
export async function checkChunks(
  catalog: ChunkCatalog,
  store: VectorStore,
  modelVersion: string,
  req: CheckChunksRequest,
): Promise<CheckChunksResponse> {
  if (!req.tenant) throw invalidArgument("tenant", "is required");
  if (!isValidToken(req.tenant)) throw invalidArgument("tenant", "must match [A-Za-z0-9_-]{1,128}");
  if (req.chunkIds.length === 0 || req.chunkIds.length > MAX_IDS)
    throw invalidArgument("chunk_ids", `must hold 1 to ${MAX_IDS} ids`);
  req.chunkIds.forEach((id, i) => {
    if (!id || id.length > MAX_ID_CHARS)
      throw invalidArgument(`chunk_ids[${i}]`, `must be 1 to ${MAX_ID_CHARS} characters`);
  });
  const known = req.chunkIds.filter((id) => catalog.get(req.tenant, id));
  const held = modelVersion ? await store.has(req.tenant, modelVersion, known) : new Set(known);
  return create(CheckChunksResponseSchema, {
    missingChunkIds: req.chunkIds.filter((id) => !held.has(id)),
    modelVersion,
  });
}
