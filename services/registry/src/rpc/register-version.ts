import { create } from "@bufbuild/protobuf";
import {
  type RegisterVersionRequest,
  type RegisterVersionResponse,
  RegisterVersionResponseSchema,
} from "@tailor/proto";
import type { RegistryContext } from "../context.js";
import { rpc } from "../errors.js";
import { checkRegisterPayload } from "../payload-rules.js";
import { checkLineage, checkModel, checkTenant } from "../rules.js";
import { aliasesOf } from "../store.js";
import { toModelVersion } from "../views.js";

export function registerVersion(
  ctx: RegistryContext,
  req: RegisterVersionRequest,
): Promise<RegisterVersionResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    const model = checkModel("model", req.model);
    const lineage = checkLineage("lineage", req.lineage);
    const payload = checkRegisterPayload(model, req, lineage);
    const row = await ctx.store.register(tenant, model, payload, lineage);
    const aliases = await aliasesOf(ctx.database.db, tenant, row.version);
    ctx.logger.info({ tenant, version: row.version }, "version registered");
    return create(RegisterVersionResponseSchema, { version: toModelVersion(row, aliases) });
  });
}
