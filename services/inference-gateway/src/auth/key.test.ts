import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  generateKey,
  hashSecret,
  KeyFormatError,
  parseAuthorization,
  secretMatches,
} from "./key.js";
import { periodEnd, periodKey } from "./limits.js";

function refusal(header: string | null | undefined): string {
  try {
    parseAuthorization(header);
  } catch (err) {
    expect(err).toBeInstanceOf(KeyFormatError);
    return (err as Error).message;
  }
  throw new Error("accepted");
}

describe("API keys", () => {
  it("are tlr_<16 hex>_<43 base64url> and parse back to their id and secret", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const k = generateKey();
      expect(k.token).toMatch(/^tlr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      expect(k.token.startsWith(`tlr_${k.id}_`)).toBe(true);
      const p = parseAuthorization(`Bearer ${k.token}`);
      expect(p.id).toBe(k.id);
      expect(secretMatches(p.secret, k.secretHash)).toBe(true);
      // The stored hash is not the secret, and a different secret does not match it.
      expect(k.secretHash.toString("base64url")).not.toBe(p.secret);
      expect(
        secretMatches(
          `${p.secret.slice(0, -1)}${p.secret.endsWith("A") ? "B" : "A"}`,
          k.secretHash,
        ),
      ).toBe(false);
      seen.add(k.id);
    }
    expect(seen.size).toBe(200);
  });

  it("accept any case of the Bearer scheme and surrounding blanks", () => {
    const k = generateKey();
    expect(parseAuthorization(`bearer ${k.token}`).id).toBe(k.id);
    expect(parseAuthorization(`BEARER \t${k.token} `).id).toBe(k.id);
  });

  it("refuse a missing, empty, non-Bearer or malformed header with a message that never quotes it", () => {
    const k = generateKey();
    expect(refusal(undefined)).toMatch(/Bearer <api key> is required/);
    expect(refusal(null)).toMatch(/is required/);
    expect(refusal("   ")).toMatch(/is required/);
    expect(refusal(`Basic ${k.token}`)).toMatch(/must be Bearer/);
    expect(refusal(k.token)).toMatch(/must be Bearer/);
    expect(refusal(`Bearer ${k.token} extra`)).toMatch(/must be Bearer/);
    for (const bad of [
      `${k.token}x`,
      k.token.slice(0, -1),
      k.token.replace("tlr_", "tlx_"),
      k.token.toUpperCase(),
      `tlr_${k.id}`,
      `${k.token.slice(0, 20)}\u0000${k.token.slice(21)}`,
      `${k.token.slice(0, 30)}\ud800${k.token.slice(31)}`,
    ]) {
      const msg = refusal(`Bearer ${bad}`);
      expect(msg).toMatch(/malformed/);
      expect(msg).not.toContain(k.id);
    }
    const huge = `Bearer ${"a".repeat(5_000_000)}`;
    expect(refusal(huge)).toMatch(/too long/);
  });

  it("never accept arbitrary header values", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (s) => {
        let msg: string | undefined;
        try {
          parseAuthorization(s);
        } catch (err) {
          msg = (err as Error).message;
        }
        expect(msg).toBeDefined();
        // The message is one of ours, bounded, and holds none of the header beyond its length.
        expect(msg!.length).toBeLessThan(120);
        if (s.length > 8) expect(msg).not.toContain(s);
      }),
      { numRuns: 500 },
    );
  });

  it("compare hashes of different lengths as a mismatch, not a throw", () => {
    expect(secretMatches("x", Buffer.alloc(3))).toBe(false);
    expect(secretMatches("x", hashSecret("x"))).toBe(true);
  });
});

describe("budget periods", () => {
  it("are the UTC month or day, and end where the next begins", () => {
    const at = new Date("2026-12-31T23:59:59.999Z");
    expect(periodKey(at, "month")).toBe("2026-12");
    expect(periodKey(at, "day")).toBe("2026-12-31");
    expect(periodEnd(at, "month").toISOString()).toBe("2027-01-01T00:00:00.000Z");
    expect(periodEnd(at, "day").toISOString()).toBe("2027-01-01T00:00:00.000Z");
    const feb = new Date("2028-02-28T12:00:00Z");
    expect(periodEnd(feb, "day").toISOString()).toBe("2028-02-29T00:00:00.000Z");
    expect(periodKey(periodEnd(feb, "month"), "month")).toBe("2028-03");
  });
});
