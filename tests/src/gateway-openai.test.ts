import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { readAdminToken } from "@tailor/config";
import { ModelService } from "@tailor/proto";
import { GatewayAdminService } from "@tailor/proto/gateway";
import { DATA_PATH, type Harness, startHarness, waitFor } from "@tailor/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The gateway's OpenAI-compatible surface over a real stack (ingestion → embedding → retrieval,
 * registry, guard, model-server, inference-gateway), called with the official `openai` client
 * the way a backend team would: only the base URL and the key change.
 */

const TENANTS = ["acme", "globex"] as const;
type Tenant = (typeof TENANTS)[number];

const permit = (t: Tenant, n: number) => `zq${t}${n}x`;
const docs = (t: Tenant) =>
  Array.from({ length: 5 }, (_, n) => ({
    id: `${t}-doc-${n}`,
    title: `${t} harbour rules ${n}`,
    text:
      `The ${t} harbour office issues permit ${permit(t, n)} to cargo vessels. ` +
      `Permit ${permit(t, n)} costs ${100 + n} euros per day and is renewed once a year. ` +
      `Vessels longer than ${20 + n} metres need a pilot when they enter the harbour.`,
  }));

interface TailorExtras {
  interaction_id: string;
  trace_id: string;
  citations: { number: number; chunk_id: string; document_id: string }[];
  versions: { retrieval: string; embedder: string; generator: string };
  guard: { input_action: string; output_action: string };
  overhead_ms: number;
}
const extras = (x: unknown) => (x as { tailor: TailorExtras }).tailor;

describe("inference-gateway: the openai client against a real stack", () => {
  let h: Harness;
  let url: string;
  const keys = {} as Record<Tenant, string>;
  const openai = (apiKey: string) =>
    new OpenAI({ apiKey, baseURL: `${url}/v1`, maxRetries: 0, timeout: 60_000 });

  beforeAll(async () => {
    h = await startHarness(
      "gateway-openai",
      // A small hold-back window, so an answer of a few sentences streams in several deltas.
      { TAILOR_INFERENCE_GATEWAY_HOLD_BACK_CHARS: "24" },
      // DATA_PATH: ingestion alone does not bring the embedding service that makes chunks searchable.
      { services: ["inference-gateway", ...DATA_PATH] },
    );
    url = h.stack.url("inference-gateway");
    const token = readAdminToken(h.dataDir, {}, "inference-gateway");
    const admin = createClient(GatewayAdminService, createGrpcTransport({ baseUrl: url }));
    for (const t of TENANTS) {
      await h.ingestion.ingestDocuments({ tenant: t, source: "harbour", documents: docs(t) });
      const k = await admin.createKey(
        { tenant: t, name: "openai-test" },
        { headers: { authorization: `Bearer ${token}` } },
      );
      keys[t] = k.secret;
    }
    for (const t of TENANTS) {
      await waitFor(async () => Number((await h.retrieval.stats({ tenant: t })).documents) === 5, {
        timeoutMs: 120_000,
        what: `${t} searchable`,
      });
    }
    await h.settle();
  }, 300_000);
  afterAll(async () => {
    await h?.close();
  });

  const question = (t: Tenant, n: number) => `How much does permit ${permit(t, n)} cost per day?`;

  it("chat.completions.create answers with [n] citations of the tenant's chunks and Tailor's extras", async () => {
    const { data, response } = await openai(keys.acme)
      .chat.completions.create({
        model: "tailor",
        messages: [{ role: "user", content: question("acme", 2) }],
      })
      .withResponse();
    const text = data.choices[0]?.message.content ?? "";
    expect(text).toMatch(/\[\d+\]/);
    expect(text).toMatch(/102 euros/);
    const t = extras(data);
    expect(data.id).toBe(t.interaction_id);
    expect(t.trace_id).not.toBe("");
    const numbers = new Set(t.citations.map((c) => c.number));
    for (const [, n] of text.matchAll(/\[(\d+)\]/g)) expect(numbers.has(Number(n))).toBe(true);
    expect(t.citations.every((c) => c.document_id.startsWith("acme-doc-"))).toBe(true);
    expect(t.citations.map((c) => c.document_id)).toContain("acme-doc-2");
    expect(t.versions.retrieval).toMatch(/^retrieval@v\d+$/);
    expect(data.model).toBe(t.versions.retrieval);
    expect(t.versions.embedder).toMatch(/@/);
    expect(t.guard.input_action).not.toBe("");
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    const overhead = Number(response.headers.get("x-tailor-overhead-ms"));
    expect(Number.isFinite(overhead) && overhead >= 0).toBe(true);
    // The tenant comes from the key: globex's key never gets acme's documents.
    const other = await openai(keys.globex).chat.completions.create({
      model: "prod",
      messages: [{ role: "user", content: question("acme", 2) }],
    });
    expect(extras(other).citations.every((c) => c.document_id.startsWith("globex-doc-"))).toBe(
      true,
    );
  });

  it("streams deltas before the end; they add up to the non-streamed answer", async () => {
    const messages = [{ role: "user" as const, content: question("acme", 3) }];
    const whole = await openai(keys.acme).chat.completions.create({ model: "prod", messages });
    const started = performance.now();
    const stream = await openai(keys.acme).chat.completions.create({
      model: "prod",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let firstDelta: number | undefined;
    let finishedAt: number | undefined;
    let deltas = 0;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finalExtras: TailorExtras | undefined;
    for await (const c of stream) {
      const d = c.choices[0]?.delta.content;
      if (d) {
        firstDelta ??= performance.now();
        deltas++;
        text += d;
      }
      if (c.choices[0]?.finish_reason) {
        finishedAt = performance.now();
        expect(c.choices[0].finish_reason).toBe("stop");
        finalExtras = extras(c);
      }
      if (c.usage) usage = c.usage;
    }
    expect(deltas).toBeGreaterThan(1);
    expect(firstDelta).toBeDefined();
    expect(finishedAt).toBeDefined();
    expect(firstDelta ?? Number.POSITIVE_INFINITY).toBeLessThan(finishedAt ?? 0);
    expect(firstDelta ?? 0).toBeGreaterThan(started);
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(finalExtras?.citations.length).toBeGreaterThan(0);
    expect(finalExtras?.interaction_id).not.toBe(extras(whole).interaction_id);
    expect(usage?.total_tokens).toBeGreaterThan(0);
  });

  it("embeddings.create embeds at the route's exact embedder; models.list names the routes", async () => {
    const client = openai(keys.acme);
    const e = await client.embeddings.create({ model: "tailor", input: ["cargo permit", "pilot"] });
    expect(e.data).toHaveLength(2);
    const models = await h.client("model-server", ModelService).listModels({});
    const [name, version] = e.model.split("@");
    const info = models.models.find((m) => m.name === name && m.version === version);
    expect(info?.kind).toBe("embedder");
    expect(e.data[0]?.embedding).toHaveLength(info?.dimensions ?? -1);
    expect(e.data[0]?.embedding.every(Number.isFinite)).toBe(true);
    expect(e.usage.prompt_tokens).toBeGreaterThan(0);
    const floats = await client.embeddings.create({
      model: e.model,
      input: "cargo permit",
      encoding_format: "float",
    });
    expect(floats.data[0]?.embedding).toEqual(e.data[0]?.embedding);

    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toContain("prod");
    expect(ids.some((id) => /^retrieval@v\d+$/.test(id))).toBe(true);
  });

  it("a missing or unknown key is AuthenticationError; an unknown model NotFoundError", async () => {
    const keyless = new OpenAI({
      apiKey: "unused",
      baseURL: `${url}/v1`,
      maxRetries: 0,
      defaultHeaders: { authorization: null },
    });
    for (const c of [keyless, openai("tlr_nobody_0000000000000000")]) {
      const err = await c.chat.completions
        .create({ model: "prod", messages: [{ role: "user", content: "hi" }] })
        .catch((x: unknown) => x);
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    }
    const missing = await openai(keys.acme)
      .chat.completions.create({
        model: "retrieval@v999",
        messages: [{ role: "user", content: "hi" }],
      })
      .catch((x: unknown) => x);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("hostile bodies: invalid JSON is a 400 that says so, 3 MB a 413, and the gateway carries on", async () => {
    const post = (body: string) =>
      fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${keys.acme}`, "content-type": "application/json" },
        body,
      });
    const bad = await post('{"model": "prod", "messages": [');
    expect(bad.status).toBe(400);
    const e = ((await bad.json()) as { error: { message: string; type: string } }).error;
    expect(e.type).toBe("invalid_request_error");
    expect(e.message).toMatch(/not valid JSON/);
    const surrogate = await post(
      '{"model":"prod","messages":[{"role":"user","content":"permit \\ud800"}]}',
    );
    expect(surrogate.status).toBe(400);
    const big = await post(JSON.stringify({ model: "prod", padding: "x".repeat(3 * 1024 * 1024) }));
    expect(big.status).toBe(413);
    const after = await openai(keys.acme).models.list();
    expect(after.data.length).toBeGreaterThan(0);
  });
});
