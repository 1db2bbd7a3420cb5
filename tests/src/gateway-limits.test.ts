import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { runCli } from "@tailor/cli";
import { readAdminToken } from "@tailor/config";
import { Stack } from "@tailor/deploy-local";
import { type AskResponse, GatewayService } from "@tailor/proto/gateway";
import { freePort, type Harness, ROOT, startHarness, testNatsUrl } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** How long a replica trusts a key it has verified (a revocation elsewhere takes this long). */
const KEY_CACHE_MS = 500;

/**
 * Two gateway processes on one database share every key's rate limit and token budget: what one
 * replica grants, the other cannot grant again.
 */
describe("inference-gateway: limits shared by two replicas", () => {
  let h: Harness;
  let second: Stack;
  let adminToken: string;
  let urls: [string, string];
  const env: Record<string, string> = {};

  beforeAll(async () => {
    const gatewayEnv = { TAILOR_INFERENCE_GATEWAY_KEY_CACHE_MS: String(KEY_CACHE_MS) };
    h = await startHarness("gwlimits", gatewayEnv, { services: ["inference-gateway"] });
    adminToken = readAdminToken(h.dataDir, {}, "inference-gateway") ?? "";
    expect(adminToken).not.toBe("");
    // The second replica: the same database, bus prefix, services and token, a port of its own.
    second = new Stack({
      root: ROOT,
      ports: { ...h.stack.ports, "inference-gateway": await freePort() },
      logs: process.env["TAILOR_TEST_SHOW_LOGS"] === "1",
      env: {
        ...process.env,
        TAILOR_NATS_URL: testNatsUrl(),
        TAILOR_DATABASE_URL: h.db.url,
        TAILOR_BUS_PREFIX: h.prefix,
        TAILOR_DATA_DIR: h.dataDir,
        TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN: adminToken,
        TAILOR_LOG_LEVEL: process.env["TAILOR_LOG_LEVEL"] ?? "warn",
        ...gatewayEnv,
      },
    });
    await second.start(120_000, ["inference-gateway"]);
    urls = [h.stack.url("inference-gateway"), second.url("inference-gateway")];
    Object.assign(env, {
      TAILOR_CLI_FROM_SOURCE: "1",
      TAILOR_INFERENCE_GATEWAY_URL: urls[0],
      TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN: adminToken,
    });
  }, 300_000);
  afterAll(async () => {
    await second?.stop();
    await h?.close();
  });

  const tailor = (...args: string[]) => runCli(args, { env, timeoutMs: 60_000 });

  /** `tailor keys create`: the key is alone on the last line. */
  async function createKey(...options: string[]): Promise<{ id: string; key: string }> {
    const r = await tailor("keys", "create", "--tenant", "acme", ...options);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    const key = lines.at(-1) ?? "";
    expect(key).toMatch(/^tlr_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/);
    return { id: key.slice(4, 20), key };
  }

  const gateways = (key: string) =>
    urls.map((baseUrl) =>
      createClient(
        GatewayService,
        createGrpcTransport({
          baseUrl,
          interceptors: [
            (next) => (req) => {
              req.header.set("authorization", `Bearer ${key}`);
              return next(req);
            },
          ],
        }),
      ),
    );

  async function outcome(p: Promise<unknown>): Promise<"ok" | ConnectError> {
    try {
      await p;
      return "ok";
    } catch (err) {
      return ConnectError.from(err);
    }
  }

  it("grants a key's burst once across both replicas, and tells the rest when to retry", async () => {
    const { key } = await createKey("--name", "burst", "--rps", "0.01", "--burst", "20");
    const [a, b] = gateways(key);
    const results = await Promise.all(
      Array.from({ length: 80 }, (_, i) => outcome((i % 2 ? a! : b!).listModels({}))),
    );
    const limited = results.filter(
      (r): r is ConnectError => r !== "ok" && r.code === Code.ResourceExhausted,
    );
    const other = results.filter((r) => r !== "ok" && r.code !== Code.ResourceExhausted);
    // Admitted calls answer whatever ListModels answers; none may be an auth failure.
    expect(other.map((r) => (r as ConnectError).code)).not.toContain(Code.Unauthenticated);
    expect(results.length - limited.length).toBe(20);
    for (const e of limited) {
      expect(e.rawMessage).toMatch(/rate limit of key [0-9a-f]{16} reached.*retry in/);
      expect(Number(e.metadata.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
  });

  it("refuses missing, malformed and unknown keys on both replicas", async () => {
    for (const baseUrl of urls) {
      const anon = createClient(GatewayService, createGrpcTransport({ baseUrl }));
      expect(((await outcome(anon.listModels({}))) as ConnectError).code).toBe(
        Code.Unauthenticated,
      );
    }
    for (const key of ["nope", `tlr_ffffffffffffffff_${"A".repeat(43)}`, "x".repeat(10_000)]) {
      for (const g of gateways(key)) {
        const e = (await outcome(g.listModels({}))) as ConnectError;
        expect(e.code).toBe(Code.Unauthenticated);
        expect(e.rawMessage).not.toContain(key.slice(0, 30));
      }
    }
  });

  it("keeps answers across both replicas within one token budget", async () => {
    const budget = 3000;
    const { id, key } = await createKey("--name", "budget", "--token-budget", String(budget));
    const [a, b] = gateways(key);
    const question = "Which rivers flow through the northern valleys in spring?";
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a! : b!).ask({ question, maxTokens: 64 }).then(
          (r) => r,
          (err: unknown) => ConnectError.from(err),
        ),
      ),
    );
    const answered = results.filter((r): r is AskResponse => !(r instanceof ConnectError));
    const refused = results.filter((r): r is ConnectError => r instanceof ConnectError);
    expect(
      refused.filter((e) => e.code !== Code.ResourceExhausted).map((e) => e.rawMessage),
    ).toEqual([]);
    expect(answered.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const e of refused) expect(e.rawMessage).toMatch(/budget/);
    const row = (
      await h.sql.query(
        "select used::text, reserved::text from gateway.budgets where key_id = $1",
        [id],
      )
    ).rows[0] as { used: string; reserved: string };
    // Every hold was settled into what the answers used, and that stays within the budget.
    expect(row.reserved).toBe("0");
    const used = answered.reduce((n, r) => n + r.usage!.totalTokens, 0);
    expect(Number(row.used)).toBe(used);
    expect(Number(row.used)).toBeLessThanOrEqual(budget);
    const list = await tailor("keys", "list", "--tenant", "acme", "--json");
    expect(list.code).toBe(0);
    const listed = (JSON.parse(list.stdout) as { id: string; tokensUsed: number }[]).find(
      (k) => k.id === id,
    );
    expect(listed?.tokensUsed).toBe(used);
  });

  it("stops honouring a key revoked through one replica on the other within the key cache's lifetime", async () => {
    const { id, key } = await createKey("--name", "revoke-me");
    const [a, b] = gateways(key);
    const admitted = (r: "ok" | ConnectError) => r === "ok" || r.code !== Code.Unauthenticated;
    expect(admitted(await outcome(b!.listModels({})))).toBe(true);
    const revoke = await tailor("keys", "revoke", "--tenant", "acme", id);
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toContain(`revoked key ${id}`);
    expect(((await outcome(a!.listModels({}))) as ConnectError).code).toBe(Code.Unauthenticated);
    await new Promise((r) => setTimeout(r, KEY_CACHE_MS + 100));
    const e = (await outcome(b!.listModels({}))) as ConnectError;
    expect(e.code).toBe(Code.Unauthenticated);
    expect(e.rawMessage).toContain("revoked");
    const list = await tailor("keys", "list", "--tenant", "acme");
    expect(list.stdout).toMatch(/^ID\s+NAME\s+CREATED\s+REVOKED\s+TOKENS USED$/m);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+revoke-me\\s+\\S+ \\S+\\s+\\d{4}-`, "m"));
  });
});
