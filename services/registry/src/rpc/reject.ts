import { create } from "@bufbuild/protobuf";
import { type RejectRequest, type RejectResponse, RejectResponseSchema } from "@tailor/proto";
import type { RegistryContext } from "../context.js";
import { rpc } from "../errors.js";
import { checkReason, checkReport, checkTenant, checkVersion } from "../rules.js";
import { toModelVersion } from "../views.js";

export function reject(ctx: RegistryContext, req: RejectRequest): Promise<RejectResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    const { model } = checkVersion("version", req.version);
    const reason = checkReason("reason", req.reason);
    const report = checkReport("report", req.report, false);
    const row = await ctx.store.reject(tenant, model, req.version, reason, report);
    ctx.logger.info({ tenant, version: row.version }, "version rejected");
    // A rejected version has no alias: Reject refuses one that an alias points at.
    return create(RejectResponseSchema, { version: toModelVersion(row, []) });
  });
}
