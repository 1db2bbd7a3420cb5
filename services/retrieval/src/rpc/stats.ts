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

/** Counts what the index holds for one tenant, at the version it is served at and at every other. */
export async function stats(
  catalog: ChunkCatalog,
  store: VectorStore,
  state: IndexState,
  req: StatsRequest,
): Promise<StatsResponse> {
  const tenant = checkTenant(req.tenant);
  const version = state.servedVersion(tenant);
  const versions = await indexVersions(store, tenant);
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
