import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { requireBearer } from "./bearer.js";

const codeOf = (f: () => void): Code | undefined => {
  try {
    f();
  } catch (err) {
    return err instanceof ConnectError ? err.code : undefined;
  }
  return undefined;
};

describe("requireBearer", () => {
  it("lets the right token through, case-insensitive scheme and surrounding blanks allowed", () => {
    expect(codeOf(() => requireBearer("Bearer s3cret", "s3cret"))).toBeUndefined();
    expect(codeOf(() => requireBearer("bearer\ts3cret ", "s3cret"))).toBeUndefined();
  });

  it("refuses a missing or malformed header as UNAUTHENTICATED and a wrong token as PERMISSION_DENIED", () => {
    expect(codeOf(() => requireBearer(null, "s3cret"))).toBe(Code.Unauthenticated);
    expect(codeOf(() => requireBearer("Basic czNjcmV0", "s3cret"))).toBe(Code.Unauthenticated);
    expect(codeOf(() => requireBearer("Bearer a b", "s3cret"))).toBe(Code.Unauthenticated);
    expect(codeOf(() => requireBearer(`Bearer ${"x".repeat(2000)}`, "s3cret"))).toBe(
      Code.Unauthenticated,
    );
    expect(codeOf(() => requireBearer("Bearer s3cre", "s3cret"))).toBe(Code.PermissionDenied);
    expect(codeOf(() => requireBearer("Bearer s3cret", "s3creT"))).toBe(Code.PermissionDenied);
  });
});
