import { create } from "@bufbuild/protobuf";
import { type PromoteRequest, type PromoteResponse, PromoteResponseSchema } from "@tailor/proto";
import type { RegistryContext } from "../context.js";
import { rpc } from "../errors.js";
import { checkAlias, checkReason, checkTenant, checkVersion, checkWeight } from "../rules.js";
import { toAlias } from "../views.js";

export function promote(ctx: RegistryContext, req: PromoteRequest): Promise<PromoteResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    const { model } = checkVersion("version", req.version);
    const alias = checkAlias("alias", req.alias);
    const weight = checkWeight("weight", alias, req.weight);
    const reason = checkReason("reason", req.reason);
    const r = await ctx.store.promote(tenant, model, req.version, alias, weight, reason);
    ctx.logger.info(
      { tenant, model, alias, version: req.version, previous: r.previousVersion, weight },
      "alias promoted",
    );
    return create(PromoteResponseSchema, {
      alias: toAlias(r.alias),
      previousVersion: r.previousVersion,
    });
  });
}
