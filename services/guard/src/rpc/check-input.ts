import { create } from "@bufbuild/protobuf";
import {
  type CheckInputRequest,
  type CheckInputResponse,
  CheckInputResponseSchema,
} from "@tailor/proto";
import type { GuardContext } from "../context.js";
import { rpc } from "../errors.js";
import { violationRow } from "../events.js";
import { checkGuardedText, checkTenant } from "../rules.js";
import { judge } from "../verdict.js";

/** A user's question: direct injection, PII and the tenant's topic rules. */
export function checkInput(ctx: GuardContext, req: CheckInputRequest): Promise<CheckInputResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    checkGuardedText("text", req.text);
    const { verdict, violation } = judge(await ctx.guards.get(tenant), "input", req.text);
    if (violation) await ctx.audit([violationRow(ctx.bus.subjects, violation)]);
    return create(CheckInputResponseSchema, { verdict });
  });
}
