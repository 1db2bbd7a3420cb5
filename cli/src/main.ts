import { parseArgs } from "node:util";
import { ConnectError } from "@connectrpc/connect";
import { ConfigError } from "@tailor/config";
import { parseCliConfig } from "./config.js";
import { ingest } from "./ingest.js";
import { modelsCommand } from "./models.js";
import { batchSearch, type ModeName, retrievalClient, searchOnce } from "./search.js";

const USAGE = `usage:
  tailor ingest --tenant T (--jsonl FILE | --dir PATH) [--source S] [--format protobuf|cloudevents] [--no-progress]
  tailor search --tenant T "query" [--k N] [--mode dense|keyword|hybrid] [--source S] [--json]
  tailor search --tenant T --topics FILE --run OUT [--k 1000] [--mode M] [--tag TAG]
  tailor models publish DIR --name N --version V [--root DIR]   (Hugging Face/Optimum ONNX folder)
  tailor models load|unload --name N [--version V] [--base B]
  tailor models list

environment: TAILOR_NATS_URL, TAILOR_BUS_PREFIX, TAILOR_RETRIEVAL_URL, TAILOR_MODEL_SERVER_URL, TAILOR_DATA_DIR`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const config = parseCliConfig(process.env);
  if (cmd === "ingest") {
    const { values } = parseArgs({
      args: rest,
      options: {
        tenant: { type: "string" },
        jsonl: { type: "string" },
        dir: { type: "string" },
        source: { type: "string", default: "cli" },
        format: { type: "string", default: "protobuf" },
        "no-progress": { type: "boolean", default: false },
      },
    });
    if (!values.tenant) return usage("--tenant is required");
    if (!values.jsonl === !values.dir)
      return usage("give exactly one of --jsonl FILE or --dir PATH");
    if (values.format !== "protobuf" && values.format !== "cloudevents")
      return usage("--format must be protobuf or cloudevents");
    const r = await ingest({
      natsUrl: config.natsUrl,
      busPrefix: config.busPrefix,
      tenant: values.tenant,
      source: values.source ?? "cli",
      format: values.format,
      jsonl: values.jsonl,
      dir: values.dir,
      progress: !values["no-progress"] && process.stderr.isTTY,
    });
    console.log(
      `published ${r.published} documents to tenant ${values.tenant} (${r.duplicates} duplicates dropped by the broker, ${r.claimed} by claim check)`,
    );
    return 0;
  }
  if (cmd === "search") {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        tenant: { type: "string" },
        k: { type: "string" },
        mode: { type: "string", default: "hybrid" },
        source: { type: "string", multiple: true },
        json: { type: "boolean", default: false },
        topics: { type: "string" },
        run: { type: "string" },
        tag: { type: "string", default: "tailor" },
      },
    });
    if (!values.tenant) return usage("--tenant is required");
    const mode = values.mode as ModeName;
    if (!["dense", "keyword", "hybrid"].includes(mode))
      return usage("--mode must be dense, keyword or hybrid");
    const client = retrievalClient(config.retrievalUrl);
    if (values.topics || values.run) {
      if (!values.topics || !values.run)
        return usage("batch mode needs both --topics FILE and --run OUT");
      const k = Number(values.k ?? 1000);
      if (!Number.isInteger(k) || k < 1 || k > 1000) return usage("--k must be 1..1000");
      const r = await batchSearch(client, {
        tenant: values.tenant,
        topics: values.topics,
        run: values.run,
        k,
        mode,
        tag: values.tag ?? "tailor",
      });
      console.log(`wrote ${r.lines} lines for ${r.topics} topics to ${values.run}`);
      return 0;
    }
    const query = positionals.join(" ");
    if (!query) return usage("give a query");
    const k = Number(values.k ?? 10);
    if (!Number.isInteger(k) || k < 1 || k > 1000) return usage("--k must be 1..1000");
    const r = await searchOnce(client, {
      tenant: values.tenant,
      query,
      k,
      mode,
      sources: values.source,
    });
    if (values.json) {
      console.log(
        JSON.stringify(
          {
            modelVersion: r.modelVersion,
            hits: r.hits.map((h) => ({
              chunkId: h.chunkId,
              documentId: h.documentId,
              source: h.source,
              title: h.title,
              score: h.score,
              denseScore: h.denseScore,
              keywordScore: h.keywordScore,
              modelVersion: h.modelVersion,
              text: h.text,
            })),
          },
          null,
          2,
        ),
      );
      return 0;
    }
    if (r.hits.length === 0) console.log("no results");
    r.hits.forEach((h, i) => {
      const snippet = h.text.replace(/\s+/g, " ").slice(0, 160);
      console.log(
        `${String(i + 1).padStart(2)}. ${h.score.toFixed(4)}  ${h.source}/${h.documentId}  ${h.title}\n    ${snippet}${h.text.length > 160 ? "…" : ""}`,
      );
    });
    return 0;
  }
  if (cmd === "models") {
    const [sub, ...more] = rest;
    const { values, positionals } = parseArgs({
      args: more,
      allowPositionals: true,
      options: {
        name: { type: "string" },
        version: { type: "string" },
        base: { type: "string" },
        root: { type: "string", default: `${config.dataDir}/models` },
      },
    });
    console.log(
      await modelsCommand(
        {
          sub: sub ?? "",
          positionals,
          name: values.name,
          version: values.version,
          base: values.base,
          root: values.root ?? `${config.dataDir}/models`,
        },
        config.modelServerUrl,
      ),
    );
    return 0;
  }
  return usage(cmd ? `unknown command ${cmd}` : undefined);
}

function usage(problem?: string): number {
  if (problem) console.error(`tailor: ${problem}`);
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(`tailor: ${err.message}`);
    else if (err instanceof ConnectError) console.error(`tailor: ${err.rawMessage} (${err.code})`);
    else console.error(`tailor: ${(err as Error).message ?? String(err)}`);
    process.exitCode = 1;
  },
);
