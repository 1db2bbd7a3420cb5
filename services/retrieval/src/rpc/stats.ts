import { create } from "@bufbuild/protobuf";
import {
  IndexVersionSchema,
  type StatsRequest,
  type StatsResponse,
  StatsResponseSchema,
} from "@tailor/proto";
import type { VectorStore } from "@tailor/vector";
import type { ChunkCatalog } from "../catalog.js";
import type { IndexState } from "../index-state.js";
import { indexVersions } from "../index-versions.js";
import { checkTenant } from "./tenant.js";

/**
 * Counts what the index holds for one tenant, at the version it is served at and at every other:
 * a version being built shows its progress as its vectors against `chunks`.
 */
export async function stats(
  catalog: ChunkCatalog,
  store: VectorStore,
  state: IndexState,
  req: StatsRequest,
): Promise<StatsResponse> {
  const tenant = checkTenant(req.tenant);
  const version = state.servedVersion(tenant);
  const versions = await indexVersions(store, tenant);
  // A version being built (or built from a tenant without chunks) is listed before its first vector.
  for (const v of state.indexVersionsOf(tenant).keys()) if (!versions.has(v)) versions.set(v, 0);
  return create(StatsResponseSchema, {
    chunks: BigInt(catalog.chunks(tenant)),
    documents: BigInt(catalog.documents(tenant)),
    vectors: BigInt(versions.get(version) ?? 0),
    modelVersion: version,
    indexVersions: [...versions].map(([modelVersion, vectors]) =>
      create(IndexVersionSchema, { modelVersion, vectors: BigInt(vectors) }),
    ),
  });
}
