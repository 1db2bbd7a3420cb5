import type { Client } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { readAdminToken } from "@tailor/config";
import { GatewayAdminService, type GatewayService } from "@tailor/proto/gateway";
import { DATA_PATH, type Harness, startHarness, waitFor } from "@tailor/testing";

// A stack with the gateway for the gateway's end-to-end suites: two tenants with a few
// documents each (plus any extra), a key per tenant made through the admin RPC, all settled.

export const TENANTS = ["acme", "globex"] as const;
export type Tenant = (typeof TENANTS)[number];
export const DOCS = 6;

/** A made-up word per document, so a question finds exactly that document. */
export const marker = (t: Tenant, n: number) => `zq${t}${n}x`;

export const docs = (t: Tenant) =>
  Array.from({ length: DOCS }, (_, n) => ({
    id: `${t}-doc-${n}`,
    title: `${t} handbook ${n}`,
    text: `The ${t} harbour office handles permit ${marker(t, n)} for cargo vessels. Permit ${marker(t, n)} costs ${100 + n} euros per day. Vessels longer than ${20 + n} metres need a pilot.`,
  }));

export interface GatewayStack {
  h: Harness;
  url: string;
  gateway: Client<typeof GatewayService>;
  keys: Record<Tenant, string>;
  /** Call options carrying the tenant's key. */
  auth(t: Tenant): { headers: Record<string, string> };
  /** The chunk ids ingestion holds for a tenant. */
  chunkIdsOf(t: Tenant): Promise<Set<string>>;
}

export async function startGatewayStack(
  label: string,
  o: {
    env?: Record<string, string>;
    onLog?: (line: string) => void;
    extra?: Partial<Record<Tenant, { id: string; title: string; text: string }[]>>;
  } = {},
): Promise<GatewayStack> {
  const h = await startHarness(label, o.env ?? {}, {
    services: [...DATA_PATH, "inference-gateway"],
    ...(o.onLog && { onLog: (_s: string, line: string) => o.onLog?.(line) }),
  });
  const url = h.stack.url("inference-gateway");
  const token = readAdminToken(h.dataDir, {}, "inference-gateway") ?? "";
  const admin = createClient(GatewayAdminService, createGrpcTransport({ baseUrl: url }));
  const keys = {} as Record<Tenant, string>;
  try {
    for (const t of TENANTS) {
      const documents = [...docs(t), ...(o.extra?.[t] ?? [])];
      await h.ingestion.ingestDocuments({ tenant: t, source: "handbook", documents });
      const k = await admin.createKey(
        { tenant: t, name: "e2e" },
        { headers: { authorization: `Bearer ${token}` } },
      );
      keys[t] = k.secret;
    }
    for (const t of TENANTS) {
      const n = DOCS + (o.extra?.[t]?.length ?? 0);
      await waitFor(async () => Number((await h.retrieval.stats({ tenant: t })).documents) === n, {
        timeoutMs: 120_000,
        what: `${t} searchable`,
      });
    }
    await h.settle();
  } catch (err) {
    await h.close();
    throw err;
  }
  if (!h.gateway) throw new Error("the harness started no gateway");
  return {
    h,
    url,
    gateway: h.gateway,
    keys,
    auth: (t) => ({ headers: { authorization: `Bearer ${keys[t]}` } }),
    chunkIdsOf: async (t) =>
      new Set(
        (
          await h.sql.query("select chunk_id from ingestion.chunks where tenant = $1", [t])
        ).rows.map((r: { chunk_id: string }) => r.chunk_id),
      ),
  };
}
