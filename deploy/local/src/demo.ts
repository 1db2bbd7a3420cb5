import { resolve } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Bus } from "@tailor/bus";
import { adminTokenPath, ensureAdminToken, SERVICE_SPECS } from "@tailor/config";
import { IngestionService, RetrievalService } from "@tailor/proto";
import { askDemo, DEMO_TENANT, demoDocuments, publishDemo, waitSearchable } from "./demo-corpus.js";
import { demoGateway } from "./demo-gateway.js";
import { demoLoopTurn } from "./demo-loop.js";
import { parseLauncherConfig } from "./env.js";
import { ensureNats, type Started } from "./infra.js";
import { loopClients } from "./loop-turn.js";
import { say } from "./output.js";
import { ensurePostgres } from "./postgres.js";
import { Stack } from "./stack.js";

const ROOT = resolve(import.meta.dirname, "../../..");

/** `npm run demo`: start everything, ingest this repository's docs, ask a few questions, stop. */
async function main(keepRunning: boolean): Promise<void> {
  const c = parseLauncherConfig(process.env, ROOT);
  const started: Started[] = [];
  let stack: Stack | undefined;
  let bus: Bus | undefined;
  const shutdown = async () => {
    await bus?.close();
    await stack?.stop();
    for (const s of started.reverse()) await s.stop();
  };
  try {
    const nats = await ensureNats(c.natsUrl, c.dataDir);
    started.push(nats);
    say("setup", `NATS: ${nats.kind} at ${nats.url}`);
    const pg = await ensurePostgres(c.databaseUrl, resolve(c.dataDir, "postgres"), {
      pgliteDir: resolve(c.stackDataDir, "pglite"),
    });
    started.push(pg);
    const pgUrl = new URL(pg.url);
    say("setup", `PostgreSQL: ${pg.kind} at ${pgUrl.host}, database ${pgUrl.pathname.slice(1)}`);
    if (c.busPrefix) say("setup", `bus prefix "${c.busPrefix}", data in ${c.stackDataDir}`);
    // LoadModel/UnloadModel need it; `tailor models load` finds it in the same file.
    const adminToken = ensureAdminToken(c.stackDataDir);
    // The gateway's own, for `tailor keys` (GatewayAdminService).
    const gatewayAdminToken = ensureAdminToken(c.stackDataDir, process.env, "inference-gateway");
    stack = new Stack({
      root: ROOT,
      ports: c.ports,
      env: {
        ...process.env,
        TAILOR_NATS_URL: nats.url,
        TAILOR_DATABASE_URL: pg.url,
        TAILOR_DATA_DIR: c.stackDataDir,
        TAILOR_MODEL_SERVER_ADMIN_TOKEN: adminToken,
        TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN: gatewayAdminToken,
        // Models are no tenant's data: every stack shares the converted default embedder and
        // what `tailor models publish` put under TAILOR_DATA_DIR.
        TAILOR_MODEL_SERVER_MODEL_DIR:
          process.env["TAILOR_MODEL_SERVER_MODEL_DIR"] || resolve(c.dataDir, "models"),
        // PGlite runs one session at a time: keep each service to one connection.
        ...(pg.kind === "pglite"
          ? Object.fromEntries(
              SERVICE_SPECS.filter((x) => x.database).map((x) => [`${x.envPrefix}_DB_POOL`, "1"]),
            )
          : {}),
      },
    });
    say(
      "setup",
      "waiting for the services to report SERVING (the first start converts the GloVe vectors to ONNX)",
    );
    await stack.start(300_000);
    if (keepRunning) {
      say(
        "tailor",
        `up: gateway ${stack.url("inference-gateway")} (API keys: tailor keys create --tenant T), ingestion ${stack.url("ingestion")}, retrieval ${stack.url("retrieval")}, model-server ${stack.url("model-server")} (admin tokens in ${adminTokenPath(c.stackDataDir)} and ${adminTokenPath(c.stackDataDir, "inference-gateway")}); Ctrl-C stops`,
      );
      await new Promise<void>((r) => {
        process.once("SIGINT", () => r());
        process.once("SIGTERM", () => r());
      });
      return;
    }
    const docs = await demoDocuments(ROOT);
    say(
      "demo",
      `ingesting ${docs.length} sections of README.md and docs/*.md as tenant "${DEMO_TENANT}"`,
    );
    bus = await Bus.connect({
      url: nats.url,
      name: "tailor-demo",
      prefix: c.busPrefix,
      auth: c.natsAuth,
    });
    const retrieval = createClient(
      RetrievalService,
      createGrpcTransport({ baseUrl: stack.url("retrieval") }),
    );
    const ingestion = createClient(
      IngestionService,
      createGrpcTransport({ baseUrl: stack.url("ingestion") }),
    );
    const r = await publishDemo(bus, ingestion, docs);
    say(
      "demo",
      `published ${r.published} data events (${r.duplicates} already seen by the broker, ${r.deleted} stale documents deleted)`,
    );
    const s = await waitSearchable(bus, retrieval, docs.length, {
      retrievalIndexDir:
        process.env["TAILOR_RETRIEVAL_INDEX_DIR"] || resolve(c.stackDataDir, "retrieval"),
    });
    say(
      "demo",
      `searchable: ${s.documents} documents, ${s.chunks} chunks, model ${s.modelVersion} (${s.ms} ms after publishing)`,
    );
    for (const { question, hits } of await askDemo(retrieval)) {
      process.stdout.write(`\n  Q: ${question.query}\n`);
      for (const [i, h] of hits.entries()) {
        process.stdout.write(
          `  ${i + 1}. [${h.score.toFixed(3)}] ${h.documentId} — ${snippet(h.text, question.query)}\n`,
        );
      }
    }
    process.stdout.write("\n");
    await demoGateway(bus, stack.url("inference-gateway"), gatewayAdminToken);
    const kind = process.env["TAILOR_DEMO_LOOP_KIND"] || "all";
    if (kind === "none") say("loop", "skipped (TAILOR_DEMO_LOOP_KIND=none)");
    else
      await demoLoopTurn(
        bus,
        loopClients((s) => stack!.url(s)),
        kind,
      );
    say("demo", "done; stopping the services");
  } finally {
    await shutdown();
  }
}

/** 150 characters of the hit, from the sentence that holds the most words of the question. */
function snippet(text: string, query: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const stems = query
    .toLowerCase()
    .split(/\W+/)
    .filter((w) => w.length > 4)
    .map((w) => w.slice(0, 5));
  let best = { start: 0, hits: 0 };
  for (const m of flat.matchAll(/[^.]+(\.|$)\s*/g)) {
    const sentence = m[0].toLowerCase();
    const hits = stems.filter((s) => sentence.includes(s)).length;
    if (hits > best.hits) best = { start: m.index, hits };
  }
  const out = flat.slice(best.start, best.start + 150);
  return `${best.start > 0 ? "…" : ""}${out}${best.start + 150 < flat.length ? "…" : ""}`;
}

main(process.argv.includes("--up")).then(
  () => say("tailor", "stopped cleanly"),
  (err: unknown) => {
    say("tailor", `failed: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
