import { create } from "@bufbuild/protobuf";
import {
  type DeleteEvalSetRequest,
  type DeleteEvalSetResponse,
  DeleteEvalSetResponseSchema,
} from "@tailor/proto";
import type { EvaluatorContext } from "../context.js";
import { EvalSetStore } from "../eval-set-store.js";
import { checkEvalSetName, checkTenant } from "../fields.js";

export async function deleteEvalSet(
  ctx: EvaluatorContext,
  req: DeleteEvalSetRequest,
): Promise<DeleteEvalSetResponse> {
  checkTenant(req.tenant);
  checkEvalSetName(req.name, "name");
  await new EvalSetStore(ctx.database).delete(req.tenant, req.name);
  ctx.logger.info({ tenant: req.tenant, evalSet: req.name }, "eval set deleted");
  return create(DeleteEvalSetResponseSchema, {});
}
