import { create } from "@bufbuild/protobuf";
import { type StatsRequest, type StatsResponse, StatsResponseSchema } from "@tailor/proto";
import type { VectorStore } from "@tailor/vector";
import type { ChunkCatalog } from "../catalog.js";
import type { IndexState } from "../index-state.js";
import { checkTenant } from "./tenant.js";

/** Counts what the index holds for one tenant. */
export async function stats(
  catalog: ChunkCatalog,
  store: VectorStore,
  state: IndexState,
  req: StatsRequest,
): Promise<StatsResponse> {
  const tenant = checkTenant(req.tenant);
  const version = state.activeVersion;
  return create(StatsResponseSchema, {
    chunks: BigInt(catalog.chunks(tenant)),
    documents: BigInt(catalog.documents(tenant)),
    vectors: BigInt(version ? await store.count(tenant, version) : 0),
    modelVersion: version,
  });
}
