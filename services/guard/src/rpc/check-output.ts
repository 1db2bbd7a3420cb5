import { create } from "@bufbuild/protobuf";
import {
  type CheckOutputRequest,
  type CheckOutputResponse,
  CheckOutputResponseSchema,
} from "@tailor/proto";
import type { GuardContext } from "../context.js";
import { rpc } from "../errors.js";
import { violationRow } from "../events.js";
import { checkCount, checkGuardedText, checkTenant, MAX_CONTEXT } from "../rules.js";
import { judge } from "../verdict.js";

/** A generated answer: PII, topic rules and grounding of each sentence in `context`. */
export function checkOutput(
  ctx: GuardContext,
  req: CheckOutputRequest,
): Promise<CheckOutputResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    checkGuardedText("text", req.text);
    checkCount("context", req.context.length, MAX_CONTEXT);
    for (const [i, c] of req.context.entries()) checkGuardedText(`context[${i}]`, c);
    const { verdict, violation } = judge(
      await ctx.guards.get(tenant),
      "output",
      req.text,
      req.context,
    );
    if (violation && !req.skipAudit) await ctx.audit([violationRow(ctx.bus.subjects, violation)]);
    return create(CheckOutputResponseSchema, { verdict });
  });
}
