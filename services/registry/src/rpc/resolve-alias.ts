import { create } from "@bufbuild/protobuf";
import {
  type ResolveAliasRequest,
  type ResolveAliasResponse,
  ResolveAliasResponseSchema,
} from "@tailor/proto";
import type { RegistryContext } from "../context.js";
import { RegistryNotFoundError, rpc } from "../errors.js";
import { checkAlias, checkModel, checkTenant } from "../rules.js";
import { aliasesOf, versionRow } from "../store.js";
import { toAlias, toModelVersion } from "../views.js";

export function resolveAlias(
  ctx: RegistryContext,
  req: ResolveAliasRequest,
): Promise<ResolveAliasResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    const model = checkModel("model", req.model);
    const alias = checkAlias("alias", req.alias);
    const db = ctx.database.db;
    const a = await db
      .selectFrom("aliases")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("model", "=", model)
      .where("alias", "=", alias)
      .executeTakeFirst();
    if (!a) throw new RegistryNotFoundError(`alias ${alias} of model ${model}`);
    const row = await versionRow(db, tenant, a.version);
    if (!row) throw new RegistryNotFoundError(`version ${a.version}`);
    return create(ResolveAliasResponseSchema, {
      alias: toAlias(a),
      version: toModelVersion(row, await aliasesOf(db, tenant, row.version)),
    });
  });
}
