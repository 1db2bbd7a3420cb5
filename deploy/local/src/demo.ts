import { resolve } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Bus, consumerBacklog } from "@tailor/bus";
import { RetrievalService, SearchMode } from "@tailor/proto";
import { listDirDocuments } from "../../../cli/src/documents.js";
import { ingest } from "../../../cli/src/ingest.js";
import { parseLauncherEnv } from "./env.js";
import { ensureNats, ensurePostgres, type Started } from "./infra.js";
import { say } from "./output.js";
import { Stack } from "./stack.js";

const ROOT = resolve(import.meta.dirname, "../../..");
const TENANT = "demo";

const QUESTIONS = [
  "how do I run the tests",
  "what happens to a malformed event",
  "which execution provider does the model-server use",
  "how are tenants kept apart",
];

/** `npm run demo`: start everything, ingest this repository's docs, ask a few questions, stop. */
async function main(keepRunning: boolean): Promise<void> {
  const e = parseLauncherEnv(process.env);
  const dataDir = resolve(ROOT, e.TAILOR_DATA_DIR);
  const started: Started[] = [];
  let stack: Stack | undefined;
  let bus: Bus | undefined;
  const shutdown = async () => {
    await bus?.close();
    await stack?.stop();
    for (const s of started.reverse()) await s.stop();
  };
  try {
    const nats = await ensureNats(e.TAILOR_NATS_URL, dataDir);
    started.push(nats);
    say("setup", `NATS: ${nats.kind} at ${nats.url}`);
    const pg = await ensurePostgres(e.TAILOR_DATABASE_URL, dataDir, { allowPglite: true });
    started.push(pg);
    say("setup", `PostgreSQL: ${pg.kind} at ${new URL(pg.url).host}`);
    stack = new Stack({
      root: ROOT,
      env: {
        ...process.env,
        TAILOR_NATS_URL: nats.url,
        TAILOR_DATABASE_URL: pg.url,
        TAILOR_DATA_DIR: dataDir,
        // PGlite runs one session at a time: keep the service to one connection.
        ...(pg.kind === "pglite" ? { TAILOR_INGESTION_DB_POOL: "1" } : {}),
      },
    });
    stack.startAll();
    say(
      "setup",
      "waiting for the services to report SERVING (the first start converts the GloVe vectors to ONNX)",
    );
    await stack.waitHealthy(300_000);
    if (keepRunning) {
      say(
        "tailor",
        `up: ingestion ${stack.url("ingestion")}, retrieval ${stack.url("retrieval")}, model-server ${stack.url("model-server")}; Ctrl-C stops`,
      );
      await new Promise<void>((r) => {
        process.once("SIGINT", () => r());
        process.once("SIGTERM", () => r());
      });
      return;
    }
    const files = await listDirDocuments(ROOT);
    say(
      "demo",
      `ingesting ${files.length} documentation files of this repository as tenant "${TENANT}"`,
    );
    const r = await ingest({
      natsUrl: nats.url,
      busPrefix: "",
      tenant: TENANT,
      source: "docs",
      format: "cloudevents",
      dir: ROOT,
      progress: false,
    });
    say(
      "demo",
      `published ${r.published} data events (${r.duplicates} already seen by the broker)`,
    );
    const client = createClient(
      RetrievalService,
      createGrpcTransport({ baseUrl: stack.url("retrieval") }),
    );
    const t0 = Date.now();
    const b = await Bus.connect({ url: nats.url, name: "tailor-demo" });
    bus = b;
    // Settled = every consumer has nothing pending or unacknowledged, twice in a row (the outbox
    // relay publishes right after ingestion acks, so one quiet look could come too early).
    const quiet = async () => {
      for (const [stream, durable] of [
        ["DATA", "ingestion"],
        ["CHUNK", "embedding"],
        ["EMBEDDING", "retrieval"],
      ] as const) {
        const backlog = await consumerBacklog(b, stream, durable).catch(() => undefined);
        if (!backlog || backlog.consumers === 0 || backlog.messages > 0) return false;
      }
      return true;
    };
    let quietLooks = 0;
    while (true) {
      const s = await client.stats({ tenant: TENANT });
      quietLooks = (await quiet()) ? quietLooks + 1 : 0;
      if (Number(s.documents) >= files.length && quietLooks >= 2) {
        say(
          "demo",
          `searchable: ${s.documents} documents, ${s.chunks} chunks, model ${s.modelVersion} (${Date.now() - t0} ms after publishing)`,
        );
        break;
      }
      if (Date.now() - t0 > 120_000)
        throw new Error(`only ${s.documents}/${files.length} documents searchable after 120 s`);
      await new Promise((res) => setTimeout(res, 250));
    }
    for (const q of QUESTIONS) {
      const res = await client.search({ tenant: TENANT, query: q, k: 3, mode: SearchMode.HYBRID });
      process.stdout.write(`\n  Q: ${q}\n`);
      for (const [i, h] of res.hits.entries()) {
        const snippet = h.text.replace(/\s+/g, " ").slice(0, 150);
        process.stdout.write(
          `  ${i + 1}. [${h.score.toFixed(3)}] ${h.documentId} — ${snippet}${h.text.length > 150 ? "…" : ""}\n`,
        );
      }
    }
    process.stdout.write("\n");
    say("demo", "done; stopping the services");
  } finally {
    await shutdown();
  }
}

main(process.argv.includes("--up")).then(
  () => say("tailor", "stopped cleanly"),
  (err: unknown) => {
    say("tailor", `failed: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
