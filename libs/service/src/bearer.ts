import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Checks `authorization: Bearer <token>` against an admin token: UNAUTHENTICATED when the header
 * is missing or not of that form, PERMISSION_DENIED when the token differs. The comparison is
 * constant-time in length and content (both sides are hashed first). Each service decides
 * before calling this what no configured token means.
 */
export function requireBearer(authorization: string | null, expected: string): void {
  if (!authorization)
    throw new ConnectError("authorization: Bearer <admin token> is required", Code.Unauthenticated);
  const m = authorization.length <= 1024 ? /^\s*Bearer[ \t]+(\S+)\s*$/i.exec(authorization) : null;
  if (!m)
    throw new ConnectError("authorization must be Bearer <admin token>", Code.Unauthenticated);
  const a = createHash("sha256").update(m[1]!).digest();
  const b = createHash("sha256").update(expected).digest();
  if (!timingSafeEqual(a, b))
    throw new ConnectError("the admin token is not valid", Code.PermissionDenied);
}
