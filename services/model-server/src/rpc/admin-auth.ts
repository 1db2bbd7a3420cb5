import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { AdminConfig } from "../config.js";

/**
 * Guards the admin RPCs (LoadModel, UnloadModel): the caller sends `authorization: Bearer
 * <token>` matching TAILOR_MODEL_SERVER_ADMIN_TOKEN. With no token configured they are refused
 * unless the operator opened them with TAILOR_MODEL_SERVER_ADMIN_OPEN=true.
 */
export function requireAdmin(admin: AdminConfig, ctx: HandlerContext): void {
  const expected = admin.token?.reveal();
  if (expected === undefined) {
    if (admin.open) return;
    throw new ConnectError(
      "admin calls are disabled: set TAILOR_MODEL_SERVER_ADMIN_TOKEN on the model-server and send it as authorization: Bearer <token>",
      Code.PermissionDenied,
    );
  }
  const header = ctx.requestHeader.get("authorization");
  if (!header) {
    throw new ConnectError("authorization: Bearer <admin token> is required", Code.Unauthenticated);
  }
  const m = /^Bearer +(\S+)$/i.exec(header.trim());
  if (!m) {
    throw new ConnectError("authorization must be Bearer <admin token>", Code.Unauthenticated);
  }
  if (!sameSecret(m[1]!, expected))
    throw new ConnectError("the admin token is not valid", Code.PermissionDenied);
}

/** Constant-time: both sides are hashed first, so neither length nor content leaks by timing. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
