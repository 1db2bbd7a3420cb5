import { create } from "@bufbuild/protobuf";
import {
  type ImportTrecRequest,
  type ImportTrecResponse,
  ImportTrecResponseSchema,
} from "@tailor/proto";
import type { EvaluatorContext } from "../context.js";
import { EvalSetStore } from "../eval-set-store.js";
import { checkEvalSetName, checkTenant } from "../fields.js";
import { parseKeep, parseTrecImport } from "../import-parse.js";
import { evalSetView } from "./eval-set-view.js";

export async function importTrec(
  ctx: EvaluatorContext,
  req: ImportTrecRequest,
): Promise<ImportTrecResponse> {
  checkTenant(req.tenant);
  checkEvalSetName(req.name, "name");
  const keep = parseKeep(req.keep);
  const set = parseTrecImport(req.topics, req.qrels, keep, ctx.config.limits);
  const summary = await new EvalSetStore(ctx.database).save(req.tenant, req.name, set, req.replace);
  ctx.logger.info(
    { tenant: req.tenant, evalSet: req.name, queries: summary.queryCount, keep },
    "trec eval set imported",
  );
  return create(ImportTrecResponseSchema, { evalSet: evalSetView(summary) });
}
