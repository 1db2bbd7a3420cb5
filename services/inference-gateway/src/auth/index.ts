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
  /** Writes what the limiter holds in memory (usage of keys without a budget). */
  close(): Promise<void>;
  admin: ServiceImpl<typeof GatewayAdminService>;
}

/** API keys, per-key rate limits and token budgets, and the admin RPCs that manage keys. */
export function createAuth(
  ctx: Pick<GatewayContext, "config" | "database" | "logger">,
): GatewayAuth {
  // One cache for both: a request's key is read once for its check and its limits.
  const keys = new KeyCache(ctx);
  const limiter = new PgLimiter(ctx, keys);
  return {
    authenticator: new KeyAuthenticator(keys),
    limiter,
    close: () => limiter.close(),
    admin: adminService(ctx, keys),
  };
}
