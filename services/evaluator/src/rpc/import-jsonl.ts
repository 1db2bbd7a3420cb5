import { create } from "@bufbuild/protobuf";
import {
  type ImportJsonlRequest,
  type ImportJsonlResponse,
  ImportJsonlResponseSchema,
} from "@tailor/proto";
import type { EvaluatorContext } from "../context.js";
import { EvalSetStore } from "../eval-set-store.js";
import { checkEvalSetName, checkTenant } from "../fields.js";
import { parseJsonlImport } from "../import-parse.js";
import { evalSetView } from "./eval-set-view.js";

export async function importJsonl(
  ctx: EvaluatorContext,
  req: ImportJsonlRequest,
): Promise<ImportJsonlResponse> {
  checkTenant(req.tenant);
  checkEvalSetName(req.name, "name");
  const set = parseJsonlImport(req.jsonl, ctx.config.limits);
  const summary = await new EvalSetStore(ctx.database).save(req.tenant, req.name, set, req.replace);
  ctx.logger.info(
    { tenant: req.tenant, evalSet: req.name, queries: summary.queryCount },
    "jsonl eval set imported",
  );
  return create(ImportJsonlResponseSchema, { evalSet: evalSetView(summary) });
}
