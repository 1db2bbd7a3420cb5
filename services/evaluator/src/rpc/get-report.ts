import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type GetReportRequest,
  type GetReportResponse,
  GetReportResponseSchema,
} from "@tailor/proto";
import { checkText, ID_RULE } from "@tailor/service";
import type { EvaluatorContext } from "../context.js";
import { checkTenant } from "../fields.js";
import { getReport as loadReport } from "../report-store.js";

export async function getReport(
  ctx: EvaluatorContext,
  req: GetReportRequest,
): Promise<GetReportResponse> {
  checkTenant(req.tenant);
  checkText("id", req.id, ID_RULE);
  const report = await loadReport(ctx.database, req.tenant, req.id);
  // Another tenant's report is as absent as one that never existed.
  if (!report) throw new ConnectError("report not found", Code.NotFound);
  return create(GetReportResponseSchema, { report });
}
