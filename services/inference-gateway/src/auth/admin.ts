import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { isValidToken } from "@tailor/bus";
import type { Database, Selectable } from "@tailor/db";
import {
  type ApiKey,
  ApiKeySchema,
  CreateKeyResponseSchema,
  type GatewayAdminService,
  type Limits,
  ListKeysResponseSchema,
  RevokeKeyResponseSchema,
} from "@tailor/proto/gateway";
import { checkText, FieldError, ID_RULE, toConnectError } from "@tailor/service";
import type { Logger } from "@tailor/telemetry";
import type { GatewayConfig } from "../config.js";
import type { ApiKeysTable, GatewayDB } from "../db/schema.js";
import { requireAdmin } from "./admin-auth.js";
import { generateKey, KEY_ID } from "./key.js";
import type { KeyCache } from "./key-cache.js";
import { periodKey } from "./limits.js";

const NAME_RULE = { maxBytes: 200, control: "reject" } as const;
const MAX_RATE = 1_000_000;
const MAX_BURST = 1_000_000;

export interface AdminDeps {
  config: Pick<GatewayConfig, "adminToken" | "limits">;
  database: Database<GatewayDB>;
  logger: Logger;
}

/** GatewayAdminService: create, list and revoke a tenant's API keys (admin token required). */
export function adminService(
  deps: AdminDeps,
  keys: KeyCache,
): ServiceImpl<typeof GatewayAdminService> {
  const { database, logger } = deps;
  const guarded =
    <Req, Res>(fn: (req: Req) => Promise<Res>) =>
    async (req: Req, ctx: HandlerContext): Promise<Res> => {
      requireAdmin(deps.config.adminToken, ctx.requestHeader.get("authorization"));
      try {
        return await fn(req);
      } catch (err) {
        throw toConnectError(err);
      }
    };
  const period = () => periodKey(new Date(), deps.config.limits.budgetPeriod);

  return {
    createKey: guarded(async (req) => {
      const tenant = checkTenant(req.tenant);
      const name = checkText("name", req.name, NAME_RULE);
      const limits = checkLimits(req.limits);
      const key = generateKey();
      const row = await database.db
        .insertInto("api_keys")
        .values({
          id: key.id,
          tenant,
          name,
          secret_hash: key.secretHash,
          revoked_at: null,
          last_used_at: null,
          requests_per_second: limits.requestsPerSecond,
          burst: limits.burst,
          token_budget: String(limits.tokenBudget),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      logger.info({ tenant, keyId: key.id }, "api key created");
      return create(CreateKeyResponseSchema, { key: toApiKey(row, 0n), secret: key.token });
    }),

    listKeys: guarded(async (req) => {
      const tenant = checkTenant(req.tenant);
      let q = database.db
        .selectFrom("api_keys as k")
        .leftJoin("budgets as b", (j) =>
          j.onRef("b.key_id", "=", "k.id").on("b.period", "=", period()),
        )
        .selectAll("k")
        .select("b.used")
        .where("k.tenant", "=", tenant)
        .orderBy("k.created_at")
        .orderBy("k.id");
      if (!req.includeRevoked) q = q.where("k.revoked_at", "is", null);
      const rows = await q.execute();
      return create(ListKeysResponseSchema, {
        keys: rows.map((r) => toApiKey(r, BigInt(r.used ?? 0))),
      });
    }),

    revokeKey: guarded(async (req) => {
      const tenant = checkTenant(req.tenant);
      const id = checkKeyId(req.id);
      const row = await database.db
        .updateTable("api_keys")
        // A key revoked twice keeps the time of its first revocation.
        .set((eb) => ({ revoked_at: eb.fn.coalesce("revoked_at", eb.fn<Date>("now", [])) }))
        .where("id", "=", id)
        .where("tenant", "=", tenant)
        .returningAll()
        .executeTakeFirst();
      // Another tenant's key reads as missing: ids say nothing across tenants.
      if (!row) throw new ConnectError(`tenant ${tenant} has no API key ${id}`, Code.NotFound);
      keys.forget(id);
      logger.info({ tenant, keyId: id }, "api key revoked");
      const used = await database.db
        .selectFrom("budgets")
        .select("used")
        .where("key_id", "=", id)
        .where("period", "=", period())
        .executeTakeFirst();
      return create(RevokeKeyResponseSchema, { key: toApiKey(row, BigInt(used?.used ?? 0)) });
    }),
  };
}

function checkTenant(tenant: string): string {
  if (!tenant) throw new FieldError("tenant", "is required: every key belongs to one tenant");
  checkText("tenant", tenant, ID_RULE);
  if (!isValidToken(tenant)) throw new FieldError("tenant", "must match [A-Za-z0-9_-]{1,128}");
  return tenant;
}

function checkKeyId(id: string): string {
  checkText("id", id, ID_RULE);
  if (id.startsWith("tlr_"))
    throw new FieldError("id", "is a whole API key: pass only its id (the part after tlr_)");
  if (!KEY_ID.test(id)) throw new FieldError("id", "must be a key id (16 hex characters)");
  return id;
}

function checkLimits(l: Limits | undefined): {
  requestsPerSecond: number;
  burst: number;
  tokenBudget: bigint;
} {
  const rps = l?.requestsPerSecond ?? 0;
  if (!Number.isFinite(rps) || rps < 0 || rps > MAX_RATE)
    throw new FieldError(
      "limits.requests_per_second",
      `must be from 0 (the default) to ${MAX_RATE}`,
    );
  const burst = l?.burst ?? 0;
  if (burst > MAX_BURST)
    throw new FieldError("limits.burst", `must be from 0 (the default) to ${MAX_BURST}`);
  const budget = l?.tokenBudget ?? 0n;
  if (budget > BigInt(Number.MAX_SAFE_INTEGER))
    throw new FieldError(
      "limits.token_budget",
      `must be from 0 (the default) to ${Number.MAX_SAFE_INTEGER}`,
    );
  return { requestsPerSecond: rps, burst, tokenBudget: budget };
}

function toApiKey(row: Selectable<ApiKeysTable>, tokensUsed: bigint): ApiKey {
  return create(ApiKeySchema, {
    id: row.id,
    tenant: row.tenant,
    name: row.name,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? "",
    lastUsedAt: row.last_used_at?.toISOString() ?? "",
    limits: {
      requestsPerSecond: row.requests_per_second,
      burst: row.burst,
      tokenBudget: BigInt(row.token_budget),
    },
    tokensUsed,
  });
}
