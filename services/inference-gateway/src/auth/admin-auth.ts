import { Code, ConnectError } from "@connectrpc/connect";
import type { Secret } from "@tailor/config";
import { requireBearer } from "@tailor/service";

/**
 * Guards GatewayAdminService: the caller sends `authorization: Bearer <token>` matching
 * TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN. Without a configured token the admin RPCs are refused.
 */
export function requireAdmin(token: Secret | undefined, authorization: string | null): void {
  const expected = token?.reveal();
  if (expected === undefined)
    throw new ConnectError(
      "key management is disabled: set TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN on the inference-gateway and send it as authorization: Bearer <token>",
      Code.PermissionDenied,
    );
  requireBearer(authorization, expected);
}
