import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type Bus, consumerBacklog } from "@tailor/bus";
import { GatewayAdminService, GatewayService } from "@tailor/proto/gateway";
import { DEMO_TENANT } from "./demo-corpus.js";
import { say } from "./output.js";

/** The question the demo asks the gateway (its answer is in docs/operations.md). */
export const GATEWAY_QUESTION = "What happens to a malformed event?";

/**
 * Asks one question the way a backend team would: a key made through GatewayAdminService, then
 * Ask through the gateway (guard, retrieval at the tenant's prod version, extractive answer with
 * numbered citations). Waits first until the guard has scanned every chunk: the gateway withholds
 * chunks it has no verdict for.
 */
export async function demoGateway(bus: Bus, url: string, adminToken: string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const b = await consumerBacklog(bus, "CHUNK", "guard");
    if (b.consumers > 0 && b.messages === 0) break;
    if (Date.now() - t0 > 120_000)
      throw new Error(`the guard has not scanned the chunks after 120 s (${b.messages} left)`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const transport = createGrpcTransport({ baseUrl: url });
  const admin = createClient(GatewayAdminService, transport);
  const { key, secret } = await admin.createKey(
    { tenant: DEMO_TENANT, name: "demo" },
    { headers: { authorization: `Bearer ${adminToken}` } },
  );
  say("gateway", `API key ${key?.id} for tenant "${DEMO_TENANT}" (tailor keys list shows it)`);
  const gateway = createClient(GatewayService, transport);
  let overhead = "";
  const a = await gateway.ask(
    { question: GATEWAY_QUESTION },
    {
      headers: { authorization: `Bearer ${secret}` },
      onHeader: (h) => {
        overhead = h.get("x-tailor-overhead-ms") ?? "";
      },
    },
  );
  process.stdout.write(`\n  Q: ${GATEWAY_QUESTION}\n  A: ${a.answer.replace(/\s+/g, " ")}\n`);
  for (const c of a.citations) process.stdout.write(`  [${c.number}] ${c.documentId}\n`);
  const v = a.versions;
  process.stdout.write(
    `  versions: retrieval ${v?.retrieval} (${v?.alias || "exact"}), embedder ${v?.embedder}, generator ${v?.generator} (${v?.generatorModel}); guard in/out ${a.guard?.inputAction}/${a.guard?.outputAction}; gateway overhead ${overhead} ms\n\n`,
  );
  if (a.citations.length === 0) throw new Error("the gateway's answer cites no passage");
}
