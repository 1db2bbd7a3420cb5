import { create } from "@bufbuild/protobuf";
import {
  type GetPolicyRequest,
  type GetPolicyResponse,
  GetPolicyResponseSchema,
  PolicySchema,
  type SetPolicyRequest,
  type SetPolicyResponse,
  SetPolicyResponseSchema,
} from "@tailor/proto";
import type { GuardContext } from "../context.js";
import { rpc } from "../errors.js";
import { checkTenant } from "../rules.js";

export function getPolicy(ctx: GuardContext, req: GetPolicyRequest): Promise<GetPolicyResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    return create(GetPolicyResponseSchema, { policy: await ctx.guards.policy(tenant) });
  });
}

/** Replaces the tenant's policy (checked whole first); this replica applies it at once. */
export function setPolicy(ctx: GuardContext, req: SetPolicyRequest): Promise<SetPolicyResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    await ctx.guards.setPolicy(tenant, req.policy ?? create(PolicySchema));
    ctx.logger.info({ tenant }, "guard policy set");
    return create(SetPolicyResponseSchema);
  });
}
