import { create } from "@bufbuild/protobuf";
import {
  type GetVersionRequest,
  type GetVersionResponse,
  GetVersionResponseSchema,
} from "@tailor/proto";
import type { RegistryContext } from "../context.js";
import { RegistryNotFoundError, rpc } from "../errors.js";
import { checkTenant, checkVersion } from "../rules.js";
import { aliasesOf, versionRow } from "../store.js";
import { toModelVersion } from "../views.js";

export function getVersion(
  ctx: RegistryContext,
  req: GetVersionRequest,
): Promise<GetVersionResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    checkVersion("version", req.version);
    const row = await versionRow(ctx.database.db, tenant, req.version);
    if (!row) throw new RegistryNotFoundError(`version ${req.version}`);
    const aliases = await aliasesOf(ctx.database.db, tenant, row.version);
    return create(GetVersionResponseSchema, { version: toModelVersion(row, aliases) });
  });
}
