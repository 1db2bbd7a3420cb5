import { isValidToken } from "@tailor/bus";
import { invalidArgument } from "@tailor/service";

/** The tenant every retrieval RPC is scoped to: required, and a valid subject token. */
export function checkTenant(tenant: string): string {
  if (!tenant)
    throw invalidArgument("tenant", "is required: every request is scoped to one tenant");
  if (!isValidToken(tenant)) throw invalidArgument("tenant", "must match [A-Za-z0-9_-]{1,128}");
  return tenant;
}
