import type { ServiceImpl } from "@connectrpc/connect";
import type { GatewayAdminService } from "@tailor/proto/gateway";
import type { GatewayContext } from "../context.js";
import type { Authenticator, Limiter } from "../types.js";
import { adminService } from "./admin.js";
import { KeyAuthenticator } from "./authenticator.js";
import { KeyCache } from "./key-cache.js";
import { PgLimiter } from "./limiter.js";

export interface GatewayAuth {
  authenticator: Authenticator;
  limiter: Limiter;
  admin: ServiceImpl<typeof GatewayAdminService>;
}

/** API keys, per-key rate limits and token budgets, and the admin RPCs that manage keys. */
export function createAuth(
  ctx: Pick<GatewayContext, "config" | "database" | "logger">,
): GatewayAuth {
  // One cache for both: a request's key is read once for its check and its limits.
  const keys = new KeyCache(ctx);
  return {
    authenticator: new KeyAuthenticator(keys),
    limiter: new PgLimiter(ctx, keys),
    admin: adminService(ctx, keys),
  };
}
