import { Code } from "@connectrpc/connect";
import { adminTokenPath } from "@tailor/config";
import { type ApiKey, GatewayAdminService, type Limits } from "@tailor/proto/gateway";
import { printable } from "../args.js";
import { serviceClient } from "../clients.js";
import { parseCliConfig } from "../config.js";
import { CliError, EXIT, ServiceCallError } from "../errors.js";
import type { Globals } from "../program.js";

/** The admin client and the headers that carry the gateway's admin token. */
function gateway(g: Globals) {
  const config = parseCliConfig(process.env);
  const token = config.gatewayAdminToken;
  const client = serviceClient(
    GatewayAdminService,
    "inference-gateway",
    config.inferenceGatewayUrl,
    g.timeoutMs,
  );
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return { client, headers, hasToken: token !== undefined, dataDir: config.dataDir };
}

/** A refused admin token gets a hint at where the CLI looks for it. */
async function admin<T>(g: Globals, call: (gw: ReturnType<typeof gateway>) => Promise<T>) {
  const gw = gateway(g);
  try {
    return await call(gw);
  } catch (err) {
    const code = err instanceof ServiceCallError ? err.cause.code : undefined;
    if (code === Code.Unauthenticated || code === Code.PermissionDenied) {
      const where = gw.hasToken
        ? "the token given does not match the gateway's"
        : `no admin token found: set TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN (a local stack keeps it in ${adminTokenPath(gw.dataDir, "inference-gateway")})`;
      throw new CliError(`${(err as ServiceCallError).message} — ${where}`);
    }
    throw err;
  }
}

function limitsText(l: Limits | undefined): string {
  const rps = l?.requestsPerSecond ? `${l.requestsPerSecond} requests/s` : "default rate";
  const burst = l?.burst ? `burst ${l.burst}` : "default burst";
  const budget = l?.tokenBudget ? `${l.tokenBudget} tokens per period` : "default token budget";
  return `${rps}, ${burst}, ${budget}`;
}

export async function runCreate(
  o: {
    tenant: string;
    name?: string;
    rps?: number;
    burst?: number;
    tokenBudget?: bigint;
    json?: boolean;
  },
  g: Globals,
): Promise<number> {
  const r = await admin(g, ({ client, headers }) =>
    client.createKey(
      {
        tenant: o.tenant,
        name: o.name ?? "",
        limits: {
          requestsPerSecond: o.rps ?? 0,
          burst: o.burst ?? 0,
          tokenBudget: o.tokenBudget ?? 0n,
        },
      },
      { headers },
    ),
  );
  const key = r.key;
  if (!key) throw new CliError("inference-gateway: CreateKey answered without the key");
  if (o.json) {
    console.log(JSON.stringify({ ...keyJson(key), secret: r.secret }, null, 2));
    return EXIT.ok;
  }
  const name = key.name ? ` "${printable(key.name, 200)}"` : "";
  console.log(`created key ${key.id}${name} for tenant ${key.tenant} (${limitsText(key.limits)})`);
  console.log("the key below is shown only this once; send it as authorization: Bearer <key>");
  console.log(r.secret);
  return EXIT.ok;
}

export async function runList(
  o: { tenant: string; active?: boolean; json?: boolean },
  g: Globals,
): Promise<number> {
  const { keys } = await admin(g, ({ client, headers }) =>
    client.listKeys({ tenant: o.tenant, includeRevoked: !o.active }, { headers }),
  );
  if (o.json) {
    console.log(JSON.stringify(keys.map(keyJson), null, 2));
    return EXIT.ok;
  }
  if (keys.length === 0) {
    console.log(`no ${o.active ? "active " : ""}keys for tenant ${o.tenant}`);
    return EXIT.ok;
  }
  const rows = [
    ["ID", "NAME", "CREATED", "REVOKED", "TOKENS USED"],
    ...keys.map((k) => [
      k.id,
      printable(k.name, 40) || "-",
      shortTime(k.createdAt),
      shortTime(k.revokedAt) || "-",
      String(k.tokensUsed),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    console.log(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );
  return EXIT.ok;
}

export async function runRevoke(id: string, o: { tenant: string }, g: Globals): Promise<number> {
  const { key } = await admin(g, ({ client, headers }) =>
    client.revokeKey({ tenant: o.tenant, id }, { headers }),
  );
  console.log(
    `revoked key ${key?.id ?? id} of tenant ${o.tenant} at ${key?.revokedAt || "now"}; gateway replicas refuse it within seconds`,
  );
  return EXIT.ok;
}

/** `2026-11-30T19:14:02.123Z` → `2026-11-30 19:14:02Z`. */
function shortTime(iso: string): string {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
}

function keyJson(k: ApiKey) {
  return {
    id: k.id,
    tenant: k.tenant,
    name: k.name,
    createdAt: k.createdAt,
    revokedAt: k.revokedAt,
    lastUsedAt: k.lastUsedAt,
    limits: {
      requestsPerSecond: k.limits?.requestsPerSecond ?? 0,
      burst: k.limits?.burst ?? 0,
      tokenBudget: Number(k.limits?.tokenBudget ?? 0n),
    },
    tokensUsed: Number(k.tokensUsed),
  };
}
