import { create } from "@bufbuild/protobuf";
import {
  type ListReportsRequest,
  type ListReportsResponse,
  ListReportsResponseSchema,
} from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import type { EvaluatorContext } from "../context.js";
import { checkTenant } from "../fields.js";
import { listReports as loadReports } from "../report-store.js";

const MAX_LIST = 100;
const DEFAULT_LIST = 20;

export async function listReports(
  ctx: EvaluatorContext,
  req: ListReportsRequest,
): Promise<ListReportsResponse> {
  checkTenant(req.tenant);
  if (req.limit > MAX_LIST) throw invalidArgument("limit", `must be at most ${MAX_LIST}`);
  const reports = await loadReports(ctx.database, req.tenant, req.limit || DEFAULT_LIST);
  return create(ListReportsResponseSchema, { reports });
}
