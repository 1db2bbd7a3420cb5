import { Code, ConnectError } from "@connectrpc/connect";
import { Database } from "@tailor/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrations } from "../db/migrations.js";
import type { GatewayDB } from "../db/schema.js";
import type { Caller, Reservation } from "../types.js";
import { generateKey } from "./key.js";
import { KeyCache } from "./key-cache.js";
import { PgLimiter } from "./limiter.js";
import { type AuthTestContext, authTestContext } from "./test-db.js";

let t: AuthTestContext;
let limiter: PgLimiter;

beforeAll(async () => {
  t = await authTestContext("gwlimiter");
  limiter = new PgLimiter(t, new KeyCache(t));
});
afterAll(() => t.close());

async function newKey(
  limits: { rps?: number; burst?: number; budget?: number } = {},
  tenant = "acme",
): Promise<Caller> {
  const k = generateKey();
  await t.database.db
    .insertInto("api_keys")
    .values({
      id: k.id,
      tenant,
      name: "test",
      secret_hash: k.secretHash,
      revoked_at: null,
      last_used_at: null,
      requests_per_second: limits.rps ?? 0,
      burst: limits.burst ?? 0,
      token_budget: String(limits.budget ?? 0),
    })
    .execute();
  return { tenant, keyId: k.id };
}

async function outcome(p: Promise<unknown>): Promise<"ok" | ConnectError> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err);
  }
}

async function budgetRow(keyId: string) {
  return t.database.db
    .selectFrom("budgets")
    .select(["period", "used", "reserved"])
    .where("key_id", "=", keyId)
    .executeTakeFirst();
}

describe("rate limit (token bucket in PostgreSQL)", () => {
  it("grants exactly the burst to 200 concurrent requests, the rest RESOURCE_EXHAUSTED with retry-after", async () => {
    const caller = await newKey({ rps: 0.01, burst: 50 });
    const results = await Promise.all(
      Array.from({ length: 200 }, () => outcome(limiter.admit(caller))),
    );
    expect(results.filter((r) => r === "ok")).toHaveLength(50);
    const refused = results.filter((r): r is ConnectError => r !== "ok");
    expect(refused).toHaveLength(150);
    for (const e of refused) {
      expect(e.code).toBe(Code.ResourceExhausted);
      expect(e.rawMessage).toMatch(/rate limit of key [0-9a-f]{16} reached .*retry in \d+\.\d\d s/);
      // 1 token at 0.01/s: about 100 s.
      expect(Number(e.metadata.get("retry-after"))).toBeGreaterThanOrEqual(90);
      expect(Number(e.metadata.get("retry-after"))).toBeLessThanOrEqual(100);
    }
  });

  it("is shared by replicas: two limiters on two pools grant the burst once between them", async () => {
    const other = new Database<GatewayDB>({
      url: t.url,
      schema: "gateway",
      migrations,
      poolSize: 20,
      logger: t.logger,
    });
    try {
      const second = new PgLimiter(
        { config: t.config, database: other, logger: t.logger },
        new KeyCache({ ...t, database: other }),
      );
      const caller = await newKey({ rps: 0.01, burst: 30 });
      const results = await Promise.all(
        Array.from({ length: 120 }, (_, i) => outcome((i % 2 ? limiter : second).admit(caller))),
      );
      expect(results.filter((r) => r === "ok")).toHaveLength(30);
    } finally {
      await other.destroy();
    }
  });

  it("refills at the key's rate and never beyond its burst", async () => {
    const caller = await newKey({ rps: 2, burst: 2 });
    expect(await outcome(limiter.admit(caller))).toBe("ok");
    expect(await outcome(limiter.admit(caller))).toBe("ok");
    const refused = await outcome(limiter.admit(caller));
    expect(refused).not.toBe("ok");
    const waitMs = Number((refused as ConnectError).metadata.get("retry-after-ms"));
    expect(waitMs).toBeGreaterThan(0);
    expect(waitMs).toBeLessThanOrEqual(500);
    expect((refused as ConnectError).metadata.get("retry-after")).toBe("1");
    await new Promise((r) => setTimeout(r, 550));
    expect(await outcome(limiter.admit(caller))).toBe("ok");
    // A long pause refills to the burst only.
    await new Promise((r) => setTimeout(r, 1600));
    const burst = await Promise.all([1, 2, 3, 4].map(() => outcome(limiter.admit(caller))));
    expect(burst.filter((r) => r === "ok")).toHaveLength(2);
  });

  it("uses the gateway's defaults for a key without its own limits", async () => {
    const defaults = { ...t.config.limits, requestsPerSecond: 0.01, burst: 7 };
    const config = { ...t.config, limits: defaults };
    const own = new PgLimiter(
      { config, database: t.database, logger: t.logger },
      new KeyCache({ ...t, config }),
    );
    const [plain, ownBurst] = [await newKey(), await newKey({ burst: 3 })];
    const count = async (caller: Caller) =>
      (await Promise.all(Array.from({ length: 20 }, () => outcome(own.admit(caller))))).filter(
        (r) => r === "ok",
      ).length;
    expect(await count(plain)).toBe(7);
    // 0.01 requests/s from the defaults, burst 3 of its own.
    expect(await count(ownBurst)).toBe(3);
  });

  it("refuses a revoked or unknown key as UNAUTHENTICATED", async () => {
    const err = await outcome(limiter.admit({ tenant: "acme", keyId: "0123456789abcdef" }));
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
  });
});

describe("token budget", () => {
  it("holds exactly what fits under concurrent reservations, and settles them into used", async () => {
    const caller = await newKey({ budget: 1000 });
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        limiter.reserve(caller, 50).then(
          (r) => r,
          (err: unknown) => ConnectError.from(err),
        ),
      ),
    );
    const held = results.filter((r): r is Reservation => !(r instanceof ConnectError));
    expect(held).toHaveLength(20);
    const refused = results.filter((r): r is ConnectError => r instanceof ConnectError);
    for (const e of refused) {
      expect(e.code).toBe(Code.ResourceExhausted);
      expect(e.rawMessage).toMatch(
        /token budget of key .* is spent for this month \(0 of 1000 used, 1000 held/,
      );
      // Only answers in flight hold it: worth retrying soon.
      expect(e.metadata.get("retry-after")).toBe("1");
    }
    expect(await budgetRow(caller.keyId)).toMatchObject({ used: "0", reserved: "1000" });
    await Promise.all(held.map((r) => r.settle(10)));
    expect(await budgetRow(caller.keyId)).toMatchObject({ used: "200", reserved: "0" });
    // Settling again changes nothing.
    await Promise.all(held.map((r) => r.settle(10)));
    expect(await budgetRow(caller.keyId)).toMatchObject({ used: "200", reserved: "0" });
    // 800 left: 16 more of 50.
    const more = await Promise.all(
      Array.from({ length: 40 }, () => outcome(limiter.reserve(caller, 50))),
    );
    expect(more.filter((r) => r === "ok")).toHaveLength(16);
  });

  it("releases a failed answer's hold with settle(0), and refuses until the period renews once spent", async () => {
    const caller = await newKey({ budget: 100 });
    const r = await limiter.reserve(caller, 100);
    expect(await outcome(limiter.reserve(caller, 1))).not.toBe("ok");
    await r.settle(0);
    expect(await budgetRow(caller.keyId)).toMatchObject({ used: "0", reserved: "0" });
    const spent = await limiter.reserve(caller, 60);
    await spent.settle(100);
    const err = (await outcome(limiter.reserve(caller, 1))) as ConnectError;
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/100 of 100 used.*renews at \d{4}-\d\d-01T00:00:00.000Z/);
    expect(Number(err.metadata.get("retry-after"))).toBeGreaterThan(1);
  });

  it("refuses an answer larger than the whole budget", async () => {
    const caller = await newKey({ budget: 100 });
    const err = (await outcome(limiter.reserve(caller, 101))) as ConnectError;
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/more than the whole budget of 100/);
    expect(await budgetRow(caller.keyId)).toBeUndefined();
  });

  it("holds nothing for an unlimited key but counts what it used", async () => {
    const caller = await newKey();
    const r = await limiter.reserve(caller, 1_000_000);
    expect(await budgetRow(caller.keyId)).toBeUndefined();
    await r.settle(42);
    await r.settle(42);
    const r2 = await limiter.reserve(caller, 5);
    await r2.settle(0);
    // Summed in memory, written once a second or at close.
    expect(await budgetRow(caller.keyId)).toBeUndefined();
    await limiter.close();
    expect(await budgetRow(caller.keyId)).toMatchObject({ used: "42", reserved: "0" });
  });
});
