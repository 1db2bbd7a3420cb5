import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { requireBearer } from "@tailor/service";
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
  requireBearer(ctx.requestHeader.get("authorization"), expected);
}
