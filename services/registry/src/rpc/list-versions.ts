import { create } from "@bufbuild/protobuf";
import {
  type ListVersionsRequest,
  type ListVersionsResponse,
  ListVersionsResponseSchema,
} from "@tailor/proto";
import type { RegistryContext } from "../context.js";
import { RegistryNotFoundError, rpc } from "../errors.js";
import { checkModel, checkTenant } from "../rules.js";
import { toAlias, toModelVersion } from "../views.js";

export function listVersions(
  ctx: RegistryContext,
  req: ListVersionsRequest,
): Promise<ListVersionsResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    const model = checkModel("model", req.model);
    const db = ctx.database.db;
    const versions = await db
      .selectFrom("versions")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("model", "=", model)
      .orderBy("n", "desc")
      .execute();
    if (versions.length === 0) throw new RegistryNotFoundError(`model ${model}`);
    const aliases = await db
      .selectFrom("aliases")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("model", "=", model)
      .orderBy("alias")
      .execute();
    return create(ListVersionsResponseSchema, {
      versions: versions.map((v) =>
        toModelVersion(
          v,
          aliases.filter((a) => a.version === v.version).map((a) => a.alias),
        ),
      ),
      aliases: aliases.map(toAlias),
    });
  });
}
