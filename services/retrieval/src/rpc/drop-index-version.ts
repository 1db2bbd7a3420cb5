import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import {
  type DropIndexVersionRequest,
  type DropIndexVersionResponse,
  DropIndexVersionResponseSchema,
  type RegistryService,
} from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";
import type { VectorStore } from "@tailor/vector";
import type { IndexBuilder } from "../index-builder.js";
import type { IndexState } from "../index-state.js";
import { checkIndexVersion } from "./index-version-field.js";
import { checkTenant } from "./tenant.js";

/** The registry model whose aliases retrieval serves, and the aliases that can point at a version. */
const MODEL = "retrieval";
const ALIASES = ["prod", "canary"] as const;

export interface DropDeps {
  store: VectorStore;
  state: IndexState;
  builder: IndexBuilder;
  registry: Client<typeof RegistryService>;
  /** Deadline of one registry call. */
  registryTimeoutMs: number;
  logger: Logger;
}

/**
 * Drops the tenant's vectors of one index version, never one that serves: refused while it is
 * the version the tenant is served at, or while a registry alias of the tenant points at a
 * version searching it. A registry that cannot answer refuses the drop (UNAVAILABLE): nothing
 * is dropped on a guess.
 */
export async function dropIndexVersion(
  d: DropDeps,
  req: DropIndexVersionRequest,
): Promise<DropIndexVersionResponse> {
  const tenant = checkTenant(req.tenant);
  const version = checkIndexVersion(req.modelVersion);
  if (version === d.state.servedVersion(tenant))
    throw new ConnectError(
      `model_version: ${version} is the index version tenant ${tenant} is served at`,
      Code.FailedPrecondition,
    );
  if (version === d.state.defaultVersion)
    throw new ConnectError(
      `model_version: ${version} is the default index version, the one the embedding events fill`,
      Code.FailedPrecondition,
    );
  for (const alias of ALIASES) {
    const user = await aliasUsing(d, tenant, alias, version);
    if (user)
      throw new ConnectError(
        `model_version: alias ${alias} of tenant ${tenant} points at ${user}, which searches ${version}`,
        Code.FailedPrecondition,
      );
  }
  await d.builder.cancel(tenant, version);
  // Forgotten first, so the event path stops writing to it before its vectors go.
  await d.state.removeIndexVersion(tenant, version);
  const dropped = await d.store.drop(tenant, version);
  await d.store.flush();
  d.logger.info({ tenant, modelVersion: version, dropped }, "index version dropped");
  return create(DropIndexVersionResponseSchema, { vectorsDropped: BigInt(dropped) });
}

/** The registry version `alias` points at when its embedder is `version`; undefined otherwise. */
async function aliasUsing(
  d: DropDeps,
  tenant: string,
  alias: string,
  version: string,
): Promise<string | undefined> {
  try {
    const r = await d.registry.resolveAlias(
      { tenant, model: MODEL, alias },
      { timeoutMs: d.registryTimeoutMs },
    );
    return r.version?.spec?.embedder === version ? r.version.version : undefined;
  } catch (err) {
    const ce = ConnectError.from(err);
    // No such model or alias: nothing points at the version through it.
    if (ce.code === Code.NotFound) return undefined;
    d.logger.warn({ code: Code[ce.code], tenant, alias }, "registry did not answer ResolveAlias");
    throw new ConnectError(
      `the registry could not say whether alias ${alias} of tenant ${tenant} uses ${version} (${Code[ce.code]}); nothing was dropped`,
      Code.Unavailable,
    );
  }
}
