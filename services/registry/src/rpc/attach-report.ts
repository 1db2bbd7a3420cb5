import { create } from "@bufbuild/protobuf";
import {
  type AttachReportRequest,
  type AttachReportResponse,
  AttachReportResponseSchema,
} from "@tailor/proto";
import type { RegistryContext } from "../context.js";
import { rpc } from "../errors.js";
import { checkReport, checkTenant, checkVersion } from "../rules.js";

export function attachReport(
  ctx: RegistryContext,
  req: AttachReportRequest,
): Promise<AttachReportResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    checkVersion("version", req.version);
    const report = checkReport("report", req.report, true);
    await ctx.store.attachReport(tenant, req.version, report);
    return create(AttachReportResponseSchema, {});
  });
}
