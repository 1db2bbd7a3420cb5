import { create } from "@bufbuild/protobuf";
import {
  type ListEvalSetsRequest,
  type ListEvalSetsResponse,
  ListEvalSetsResponseSchema,
} from "@tailor/proto";
import type { EvaluatorContext } from "../context.js";
import { EvalSetStore } from "../eval-set-store.js";
import { checkTenant } from "../fields.js";
import { evalSetView } from "./eval-set-view.js";

export async function listEvalSets(
  ctx: EvaluatorContext,
  req: ListEvalSetsRequest,
): Promise<ListEvalSetsResponse> {
  checkTenant(req.tenant);
  const sets = await new EvalSetStore(ctx.database).list(req.tenant);
  return create(ListEvalSetsResponseSchema, { evalSets: sets.map((s) => evalSetView(s)) });
}
