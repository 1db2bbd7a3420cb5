import { create } from "@bufbuild/protobuf";
import { type RollbackRequest, type RollbackResponse, RollbackResponseSchema } from "@tailor/proto";
import type { RegistryContext } from "../context.js";
import { rpc } from "../errors.js";
import { checkAlias, checkModel, checkReason, checkTenant } from "../rules.js";
import { toAlias } from "../views.js";

export function rollback(ctx: RegistryContext, req: RollbackRequest): Promise<RollbackResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    const model = checkModel("model", req.model);
    const alias = checkAlias("alias", req.alias);
    const reason = checkReason("reason", req.reason);
    const r = await ctx.store.rollback(tenant, model, alias, reason);
    ctx.logger.info(
      { tenant, model, alias, version: r.alias.version, left: r.rolledBackVersion },
      "alias rolled back",
    );
    return create(RollbackResponseSchema, {
      alias: toAlias(r.alias),
      rolledBackVersion: r.rolledBackVersion,
    });
  });
}
