import { create } from "@bufbuild/protobuf";
import {
  type GetEvalSetRequest,
  type GetEvalSetResponse,
  GetEvalSetResponseSchema,
} from "@tailor/proto";
import type { EvaluatorContext } from "../context.js";
import { EvalSetStore, evalSetNotFound } from "../eval-set-store.js";
import { checkEvalSetName, checkTenant } from "../fields.js";
import { evalSetView } from "./eval-set-view.js";

export async function getEvalSet(
  ctx: EvaluatorContext,
  req: GetEvalSetRequest,
): Promise<GetEvalSetResponse> {
  checkTenant(req.tenant);
  checkEvalSetName(req.name, "name");
  const store = new EvalSetStore(ctx.database);
  if (req.summaryOnly) {
    const s = await store.summary(req.tenant, req.name);
    if (!s) throw evalSetNotFound(req.name);
    return create(GetEvalSetResponseSchema, { evalSet: evalSetView(s) });
  }
  const stored = await store.load(req.tenant, req.name);
  return create(GetEvalSetResponseSchema, { evalSet: evalSetView(stored, stored.set) });
}
