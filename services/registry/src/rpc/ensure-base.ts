import { create } from "@bufbuild/protobuf";
import {
  type EnsureBaseRequest,
  type EnsureBaseResponse,
  EnsureBaseResponseSchema,
} from "@tailor/proto";
import type { RegistryContext } from "../context.js";
import { rpc } from "../errors.js";
import { checkBasePayload } from "../payload-rules.js";
import { checkModel, checkTenant } from "../rules.js";
import { aliasesOf } from "../store.js";
import { toModelVersion } from "../views.js";

export function ensureBase(
  ctx: RegistryContext,
  req: EnsureBaseRequest,
): Promise<EnsureBaseResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    const model = checkModel("model", req.model);
    const payload = checkBasePayload(model, req);
    const { version, created } = await ctx.store.ensureBase(tenant, model, payload);
    const aliases = await aliasesOf(ctx.database.db, tenant, version.version);
    if (created) ctx.logger.info({ tenant, version: version.version }, "base version registered");
    return create(EnsureBaseResponseSchema, {
      version: toModelVersion(version, aliases),
      created,
    });
  });
}
