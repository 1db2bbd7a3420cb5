import { randomBytes } from "node:crypto";
import { type CallOptions, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ingestCisi, loopClients } from "@tailor/deploy-local";
import { loadCisi, percentile } from "@tailor/eval";
import { GuardService, RetrievalService, SearchMode } from "@tailor/proto";
import { GatewayAdminService, GatewayService } from "@tailor/proto/gateway";
import { DATA_PATH, startHarness } from "@tailor/testing";
import { extractiveGenerator } from "../../services/inference-gateway/src/generators/extractive.js";
import type { Passage } from "../../services/inference-gateway/src/types.js";

/**
 * The inference gateway under load, on CISI: requests/s and p50/p99 of GatewayService.Ask at
 * each concurrency for a fixed time, and in the same run two direct paths at the same
 * concurrency: `direct` (RetrievalService.Search at the exact version Ask answered with, then
 * the extractive generator in this process) and `guarded` (the same with the guard calls the
 * gateway makes: CheckInput, GetChunkVerdicts, CheckOutput). `added_p50_ms` is Ask's p50 less
 * direct's; `added_over_guarded_p50_ms` less guarded's, which leaves what the gateway itself
 * adds (keys, limits, routes, the interaction log, one more hop). Beside them the gateway's own
 * account: the `x-tailor-overhead-ms` header of each answer. `ask_key_per_worker` repeats Ask
 * with a key per worker instead of one shared key. At concurrency 1, `search` (the gateway's
 * Search) against `direct_search` (retrieval Search and GetChunkVerdicts) and `list_models`
 * show what keys, limits and routes cost a lone request.
 *
 * `npm run bench -- gateway [seconds]` (10 s per measurement by default).
 */
const emit = (metric: string, value: number, unit: string) =>
  console.log(JSON.stringify({ bench: "gateway", metric, value: Number(value.toFixed(4)), unit }));

const TENANT = "cisi";
/** 1 for the cost of one request alone; 16 and 64 under load. */
const CONCURRENCY = [1, 16, 64];
/** Passages per answer: the gateway's default k, so both paths retrieve the same. */
const K = 5;

interface Run {
  latencies: number[];
  /** `x-tailor-overhead-ms` of each answer (gateway runs only). */
  overheads: number[];
  errors: number;
  seconds: number;
}

/** `concurrency` workers calling `once` back to back for `ms`; latencies of the successes. */
async function drive(
  concurrency: number,
  ms: number,
  questions: readonly string[],
  once: (question: string, overheads: number[], worker: number) => Promise<void>,
): Promise<Run> {
  const run: Run = { latencies: [], overheads: [], errors: 0, seconds: 0 };
  let next = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < end) {
        const q = questions[next++ % questions.length]!;
        const t = performance.now();
        try {
          await once(q, run.overheads, worker);
          run.latencies.push(performance.now() - t);
        } catch (err) {
          if (run.errors++ === 0) console.error(`[gateway] first error: ${String(err)}`);
        }
      }
    }),
  );
  run.seconds = (performance.now() - start) / 1000;
  return run;
}

function report(name: string, c: number, r: Run): number {
  const p50 = percentile(r.latencies, 50);
  emit(`${name}_rps_c${c}`, r.latencies.length / r.seconds, "req/s");
  emit(`${name}_p50_ms_c${c}`, p50, "ms");
  emit(`${name}_p99_ms_c${c}`, percentile(r.latencies, 99), "ms");
  emit(`${name}_errors_c${c}`, r.errors, "requests");
  return p50;
}

export async function main(seconds: number): Promise<void> {
  const cisi = loadCisi();
  const adminToken = randomBytes(24).toString("hex");
  const h = await startHarness(
    "gwbench",
    { TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN: adminToken },
    { services: [...DATA_PATH, "inference-gateway"] },
  );
  try {
    const ingest = await ingestCisi(
      h.bus,
      loopClients((s) => h.stack.url(s)),
      { cisi, tenant: TENANT },
    );
    emit("ingest_seconds", ingest.ms / 1000, "s");
    // Every chunk has its guard verdict before the first question.
    await h.settle(600_000);

    const admin = h.client("inference-gateway", GatewayAdminService);
    // One key for all workers (one application), and one per worker (many): limits and budgets
    // are rows per key, so the difference is what callers of one key wait on each other.
    const keys: string[] = [];
    for (let i = 0; i < Math.max(...CONCURRENCY); i++) {
      const { secret } = await admin.createKey(
        {
          tenant: TENANT,
          name: `bench-${i}`,
          // The limiter still runs on every request; it just never says no.
          limits: { requestsPerSecond: 1_000_000, burst: 1_000_000 },
        },
        { headers: { authorization: `Bearer ${adminToken}` } },
      );
      keys.push(secret);
    }
    const transport = createGrpcTransport({ baseUrl: h.stack.url("inference-gateway") });
    const gateway = createClient(GatewayService, transport);
    const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
    const auth = bearer(keys[0]!);
    const retrieval = createClient(
      RetrievalService,
      createGrpcTransport({ baseUrl: h.stack.url("retrieval") }),
    );
    const questions = cisi.queries.map((q) => q.text.replace(/\s+/g, " ").trim().slice(0, 1000));

    // The versions Ask answers at, so the direct path runs exactly those.
    const first = await gateway.ask({ question: questions[0]!, k: K }, { headers: auth });
    const version = first.versions?.retrieval ?? "";
    emit("first_answer_citations", first.citations.length, "citations");
    // The generator version Ask answered with, run here from its registry spec.
    const generatorVersion = first.versions?.generator ?? "";
    const spec = (await h.registry.getVersion({ tenant: TENANT, version: generatorVersion }))
      .version?.generator;
    if (spec?.kind !== "extractive")
      throw new Error(`${generatorVersion} is not the extractive generator (${spec?.kind})`);
    const generator = extractiveGenerator(spec, generatorVersion);

    const askAs = async (key: string, question: string, overheads: number[]) => {
      let overhead: string | null = null;
      const opts: CallOptions = {
        headers: bearer(key),
        onHeader: (hd) => (overhead = hd.get("x-tailor-overhead-ms")),
      };
      await gateway.ask({ question, k: K }, opts);
      if (overhead !== null) overheads.push(Number(overhead));
    };
    const ask = (question: string, overheads: number[]) => askAs(keys[0]!, question, overheads);
    const askOwnKey = (question: string, overheads: number[], worker: number) =>
      askAs(keys[worker]!, question, overheads);
    const guard = h.client("guard", GuardService);
    const answer = async (question: string, r: { hits: Passage[] }) => {
      const it = generator.generate({ question, history: [], passages: r.hits, maxTokens: 256 });
      let text = "";
      for (let n = await it.next(); !n.done; n = await it.next()) text += n.value;
      return text;
    };
    const search = async (question: string) => {
      const r = await retrieval.search({
        tenant: TENANT,
        query: question,
        k: K,
        mode: SearchMode.HYBRID,
        version,
      });
      const hits: Passage[] = r.hits.map((hit, i) => ({
        number: i + 1,
        chunkId: hit.chunkId,
        documentId: hit.documentId,
        source: hit.source,
        title: hit.title,
        text: hit.text,
        score: hit.score,
      }));
      return { hits };
    };
    const direct = async (question: string) => {
      await answer(question, await search(question));
    };
    const guarded = async (question: string) => {
      const input = await guard.checkInput({ tenant: TENANT, text: question });
      const checked = input.verdict?.text || question;
      const r = await search(checked);
      await guard.getChunkVerdicts({ tenant: TENANT, chunkIds: r.hits.map((x) => x.chunkId) });
      const text = await answer(checked, r);
      await guard.checkOutput({ tenant: TENANT, text, context: r.hits.map((x) => x.text) });
    };

    // Where a lone request's added time goes: the gateway's Search (key, limits, routes,
    // retrieval, chunk verdicts) against retrieval and the guard called directly, and
    // ListModels (key and routes only).
    const gatewaySearch = async (query: string) => {
      await gateway.search({ query, k: K }, { headers: auth });
    };
    const directSearch = async (query: string) => {
      const r = await search(query);
      await guard.getChunkVerdicts({ tenant: TENANT, chunkIds: r.hits.map((x) => x.chunkId) });
    };
    const listModels = async () => {
      await gateway.listModels({}, { headers: auth });
    };

    // Warm every path (JIT, connection pools, caches of routes and keys).
    await drive(8, 2000, questions, ask);
    await drive(8, 2000, questions, direct);
    await drive(8, 2000, questions, guarded);
    await drive(4, 1000, questions, gatewaySearch);
    await drive(4, 1000, questions, directSearch);
    await drive(4, 1000, questions, listModels);
    const stage = seconds * 500;
    report("search", 1, await drive(1, stage, questions, gatewaySearch));
    report("direct_search", 1, await drive(1, stage, questions, directSearch));
    report("list_models", 1, await drive(1, stage, questions, listModels));
    for (const c of CONCURRENCY) {
      const g = await drive(c, seconds * 1000, questions, ask);
      const gatewayP50 = report("ask", c, g);
      const d = await drive(c, seconds * 1000, questions, direct);
      const directP50 = report("direct", c, d);
      const guardedP50 = report("guarded", c, await drive(c, seconds * 1000, questions, guarded));
      emit(`added_p50_ms_c${c}`, gatewayP50 - directP50, "ms");
      emit(`added_over_guarded_p50_ms_c${c}`, gatewayP50 - guardedP50, "ms");
      emit(`overhead_header_p50_ms_c${c}`, percentile(g.overheads, 50), "ms");
      emit(`overhead_header_p99_ms_c${c}`, percentile(g.overheads, 99), "ms");
      if (c > 1)
        report("ask_key_per_worker", c, await drive(c, seconds * 1000, questions, askOwnKey));
    }
  } finally {
    await h.close();
  }
}

const arg = process.argv.slice(2).find((a) => !a.startsWith("-"));
const seconds = arg === undefined ? 10 : Number(arg);
if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) {
  console.error(`seconds must be a number in (0, 600], not ${arg}`);
  process.exit(2);
}
await main(seconds);
