import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Secret } from "@tailor/config";

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
  if (!authorization)
    throw new ConnectError("authorization: Bearer <admin token> is required", Code.Unauthenticated);
  const m = authorization.length <= 1024 ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization) : null;
  if (!m)
    throw new ConnectError("authorization must be Bearer <admin token>", Code.Unauthenticated);
  if (!sameSecret(m[1]!, expected))
    throw new ConnectError("the admin token is not valid", Code.PermissionDenied);
}

/** Hashing both sides first makes the comparison constant-time in length as well as content. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
