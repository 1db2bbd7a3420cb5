import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { Secret } from "@tailor/config";
import { GatewayAdminService } from "@tailor/proto/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuth, type GatewayAuth } from "./index.js";
import { ADMIN_TOKEN, type AuthTestContext, authTestContext } from "./test-db.js";

let t: AuthTestContext;
let auth: GatewayAuth;

function admin(a: GatewayAuth, authorization: string | null = `Bearer ${ADMIN_TOKEN}`) {
  return createClient(
    GatewayAdminService,
    createRouterTransport((router) => router.service(GatewayAdminService, a.admin), {
      transport: {
        // JSON carries lone surrogates as they are; the binary encoding would replace them.
        useBinaryFormat: false,
        interceptors: [
          (next) => (req) => {
            if (authorization !== null) req.header.set("authorization", authorization);
            return next(req);
          },
        ],
      },
    }),
  );
}

async function refusal(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected a refusal");
}

beforeAll(async () => {
  t = await authTestContext("gwauth", { keyCacheMs: 300 });
  auth = createAuth(t);
});
afterAll(() => t.close());

describe("GatewayAdminService", () => {
  it("creates a key whose secret is returned once and stored only as a hash", async () => {
    const r = await admin(auth).createKey({
      tenant: "acme",
      name: "backend",
      limits: { requestsPerSecond: 5, burst: 10, tokenBudget: 5000n },
    });
    expect(r.secret).toMatch(/^tlr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(r.key).toMatchObject({
      tenant: "acme",
      name: "backend",
      revokedAt: "",
      limits: { requestsPerSecond: 5, burst: 10, tokenBudget: 5000n },
      tokensUsed: 0n,
    });
    expect(r.secret.startsWith(`tlr_${r.key!.id}_`)).toBe(true);
    const row = await t.database.db
      .selectFrom("api_keys")
      .selectAll()
      .where("id", "=", r.key!.id)
      .executeTakeFirstOrThrow();
    expect(row.secret_hash).toHaveLength(32);
    expect(JSON.stringify(row)).not.toContain(r.secret.slice(21));
    const listed = await admin(auth).listKeys({ tenant: "acme" });
    expect(listed.keys.map((k) => k.id)).toContain(r.key!.id);
    expect(JSON.stringify(listed.keys.map((k) => k.id))).not.toContain("tlr_");
  });

  it("refuses without the admin token, with a wrong one, and when none is configured", async () => {
    expect((await refusal(admin(auth, null).listKeys({ tenant: "acme" }))).code).toBe(
      Code.Unauthenticated,
    );
    expect(
      (await refusal(admin(auth, "Bearer wrong-token").listKeys({ tenant: "acme" }))).code,
    ).toBe(Code.PermissionDenied);
    expect((await refusal(admin(auth, ADMIN_TOKEN).listKeys({ tenant: "acme" }))).code).toBe(
      Code.Unauthenticated,
    );
    const closed = createAuth({ ...t, config: { ...t.config, adminToken: undefined } });
    const e = await refusal(admin(closed).createKey({ tenant: "acme" }));
    expect(e.code).toBe(Code.PermissionDenied);
    expect(e.rawMessage).toContain("TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN");
    const other = createAuth({
      ...t,
      config: { ...t.config, adminToken: new Secret("x".repeat(40)) },
    });
    expect((await refusal(admin(other).listKeys({ tenant: "acme" }))).code).toBe(
      Code.PermissionDenied,
    );
  });

  it("validates tenant, name, limits and ids, naming the field", async () => {
    const a = admin(auth);
    const bad: Array<[() => Promise<unknown>, RegExp]> = [
      [() => a.createKey({ tenant: "" }), /^tenant: is required/],
      [() => a.createKey({ tenant: "a b" }), /^tenant: must match/],
      [() => a.createKey({ tenant: "a\u0000" }), /^tenant: holds a NUL/],
      [() => a.createKey({ tenant: "x".repeat(2_000_000) }), /^tenant: is \d+ bytes/],
      [
        () => a.createKey({ tenant: "acme", name: "n\u0007" }),
        /^name: holds control character U\+0007/,
      ],
      [
        () => a.createKey({ tenant: "acme", name: "\ud800" }),
        /name(: holds an unpaired UTF-16 surrogate| from JSON: .*invalid UTF8)/,
      ],
      [
        () => a.createKey({ tenant: "acme", limits: { requestsPerSecond: Number.NaN } }),
        /^limits\.requests_per_second: /,
      ],
      [
        () => a.createKey({ tenant: "acme", limits: { requestsPerSecond: -1 } }),
        /^limits\.requests_per_second: /,
      ],
      [() => a.createKey({ tenant: "acme", limits: { burst: 2_000_000 } }), /^limits\.burst: /],
      [
        () => a.createKey({ tenant: "acme", limits: { tokenBudget: 2n ** 60n } }),
        /^limits\.token_budget: /,
      ],
      [() => a.revokeKey({ tenant: "acme", id: "nope" }), /^id: must be a key id/],
      [
        () => a.revokeKey({ tenant: "acme", id: `tlr_0123456789abcdef_${"A".repeat(43)}` }),
        /^id: is a whole API key/,
      ],
    ];
    for (const [call, message] of bad) {
      const e = await refusal(call()).catch((err: unknown) => {
        throw new Error(`${message}: ${err}`);
      });
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.rawMessage).toMatch(message);
    }
  });

  it("revokes only the tenant's own key, keeps the first revocation time, and lists revoked keys on request", async () => {
    const a = admin(auth);
    const { key } = await a.createKey({ tenant: "acme", name: "to-revoke" });
    const id = key!.id;
    expect((await refusal(a.revokeKey({ tenant: "other", id }))).code).toBe(Code.NotFound);
    const first = await a.revokeKey({ tenant: "acme", id });
    expect(first.key!.revokedAt).not.toBe("");
    const again = await a.revokeKey({ tenant: "acme", id });
    expect(again.key!.revokedAt).toBe(first.key!.revokedAt);
    expect((await a.listKeys({ tenant: "acme" })).keys.map((k) => k.id)).not.toContain(id);
    const all = await a.listKeys({ tenant: "acme", includeRevoked: true });
    expect(all.keys.find((k) => k.id === id)?.revokedAt).toBe(first.key!.revokedAt);
    expect((await a.listKeys({ tenant: "other", includeRevoked: true })).keys).toEqual([]);
  });
});

describe("authenticator", () => {
  it("resolves a key to its tenant, refusing unknown, wrong-secret and malformed keys alike", async () => {
    const { key, secret } = await admin(auth).createKey({ tenant: "acme", name: "a" });
    expect(await auth.authenticator.authenticate(`Bearer ${secret}`)).toEqual({
      tenant: "acme",
      keyId: key!.id,
    });
    const wrongSecret = `${secret.slice(0, -2)}${secret.endsWith("AA") ? "BB" : "AA"}`;
    const unknownId = `tlr_ffffffffffffffff_${secret.slice(-43)}`;
    for (const header of [wrongSecret, unknownId].map((s) => `Bearer ${s}`)) {
      const e = await refusal(auth.authenticator.authenticate(header));
      expect(e.code).toBe(Code.Unauthenticated);
      expect(e.rawMessage).toBe("the API key is not valid");
    }
    for (const header of [
      undefined,
      null,
      "",
      "Bearer",
      `Bearer ${"x".repeat(1_000_000)}`,
      "Bearer tlr_\u0000",
    ]) {
      const e = await refusal(auth.authenticator.authenticate(header));
      expect(e.code).toBe(Code.Unauthenticated);
      expect(e.rawMessage.length).toBeLessThan(100);
    }
  });

  it("refuses a key revoked through another replica once its cache entry expires", async () => {
    const { key, secret } = await admin(auth).createKey({ tenant: "acme", name: "b" });
    const header = `Bearer ${secret}`;
    await auth.authenticator.authenticate(header);
    // Another replica (its own cache) revokes the key.
    const elsewhere = createAuth(t);
    await admin(elsewhere).revokeKey({ tenant: "acme", id: key!.id });
    expect((await refusal(elsewhere.authenticator.authenticate(header))).rawMessage).toBe(
      `the API key ${key!.id} has been revoked`,
    );
    const deadline = Date.now() + t.config.keyCacheMs + 2000;
    let refused: ConnectError | undefined;
    while (!refused && Date.now() < deadline) {
      refused = await auth.authenticator.authenticate(header).then(
        () => undefined,
        (err: unknown) => ConnectError.from(err),
      );
      if (!refused) await new Promise((r) => setTimeout(r, 20));
    }
    expect(refused?.code).toBe(Code.Unauthenticated);
    expect((await refusal(auth.limiter.admit({ tenant: "acme", keyId: key!.id }))).code).toBe(
      Code.Unauthenticated,
    );
  });

  it("records when a key was last used, without a write per request", async () => {
    const { key, secret } = await admin(auth).createKey({ tenant: "acme", name: "c" });
    const before = await admin(auth).listKeys({ tenant: "acme" });
    expect(before.keys.find((k) => k.id === key!.id)?.lastUsedAt).toBe("");
    for (let i = 0; i < 20; i++) await auth.authenticator.authenticate(`Bearer ${secret}`);
    let lastUsed = "";
    for (let i = 0; i < 50 && !lastUsed; i++) {
      await new Promise((r) => setTimeout(r, 20));
      lastUsed =
        (await admin(auth).listKeys({ tenant: "acme" })).keys.find((k) => k.id === key!.id)
          ?.lastUsedAt ?? "";
    }
    expect(lastUsed).not.toBe("");
    expect(Date.parse(lastUsed)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("lists the tokens a key used this period", async () => {
    const { key, secret } = await admin(auth).createKey({
      tenant: "acme",
      limits: { tokenBudget: 1000n },
    });
    const caller = await auth.authenticator.authenticate(`Bearer ${secret}`);
    const r = await auth.limiter.reserve(caller, 100);
    await r.settle(37);
    const listed = await admin(auth).listKeys({ tenant: "acme" });
    expect(listed.keys.find((k) => k.id === key!.id)?.tokensUsed).toBe(37n);
  });
});
