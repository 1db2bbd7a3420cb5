import { Command, Option } from "commander";
import pkg from "../package.json" with { type: "json" };
import { intIn, keyValue, seconds, token, tokens } from "./args.js";
import { formatUsageError } from "./usage.js";

/** Options every command understands. */
export interface Globals {
  timeoutMs: number;
  debug: boolean;
}

const ENVIRONMENT = `
Environment:
  TAILOR_NATS_URL           NATS that ingest publishes to (default nats://127.0.0.1:4222)
  TAILOR_BUS_PREFIX         subject/stream prefix of the stack (default none)
  TAILOR_INGESTION_URL      ingestion service (default http://127.0.0.1:$TAILOR_INGESTION_PORT, 7101)
  TAILOR_RETRIEVAL_URL      retrieval service (default http://127.0.0.1:$TAILOR_RETRIEVAL_PORT, 7103)
  TAILOR_MODEL_SERVER_URL   model-server (default http://127.0.0.1:$TAILOR_MODEL_SERVER_PORT, 7104)
  TAILOR_DATA_DIR           models publish stores under $TAILOR_DATA_DIR/models (default .tailor/data)

Exit codes:
  0  done
  1  the operation failed: the stack did not answer, a document was not found, ingest skipped
     or could not publish a document, --wait ran out of time
  2  usage error: unknown command or option, a missing or invalid value
`;

/** Usage errors as one line that points at the command's help. */
function usageOutput(path: string) {
  return {
    outputError: (str: string, write: (s: string) => void) => write(formatUsageError(str, path)),
  };
}

/** `--timeout` and `--debug` after the command too (`tailor stats --tenant a --timeout 2`). */
function withCommon(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        "--timeout <seconds>",
        "how long one call to the stack may take (default: 10)",
      ).argParser(seconds),
    )
    .option("--debug", "print the stack trace of an unexpected error");
}

/** What an action resolves to: the exit code. */
type Run = () => Promise<number>;

/**
 * The command tree, its help and its validation. Actions load their module only when they run,
 * so `--help` and `--version` start fast.
 */
export function buildProgram(done: (run: Run) => void): Command {
  // Set before the subcommands are made: they inherit both.
  const program = new Command("tailor")
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(formatUsageError(str, "tailor")) })
    .description(
      "Tailor's command line: ingest documents, search them, look into the index and manage models.",
    )
    .version(pkg.version, "-v, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .addOption(
      new Option("--timeout <seconds>", "how long one call to the stack may take")
        .argParser(seconds)
        .default(10_000, "10"),
    )
    .option("--debug", "print the stack trace of an unexpected error")
    // Program options only before the command, so `models publish --version V` is the model's.
    .enablePositionalOptions()
    .addHelpCommand("help [command]", "show help for a command")
    .addHelpText(
      "after",
      `
Examples:
  $ tailor ingest --tenant acme --jsonl docs.jsonl --wait
  $ tailor search --tenant acme "how do I rotate the keys"
  $ tailor stats --tenant acme
  $ tailor list --tenant acme
  $ tailor ingest --help
${ENVIRONMENT}`,
    );

  program.hook("preAction", (_program, action) => {
    if (action.options.some((o) => o.attributeName() === "tenant") && !action.opts()["tenant"])
      action.error("required option '-t, --tenant <tenant>' not specified");
  });
  // Given after the command, an option wins over the same one given before it.
  const globals = (cmd: Command): Globals => {
    const top = program.opts() as { timeout: number; debug?: boolean };
    const own = cmd.opts() as { timeout?: number; debug?: boolean };
    return { timeoutMs: own.timeout ?? top.timeout, debug: Boolean(own.debug ?? top.debug) };
  };
  const command = (name: string, description: string, examples: string[]): Command =>
    withCommon(program.command(name))
      .description(description)
      .configureOutput(usageOutput(`tailor ${name}`))
      .addHelpText("after", `\nExamples:\n${examples.map((e) => `  $ ${e}`).join("\n")}\n`);
  const tenant = () =>
    // Checked in the action, not by commander, so a misspelt option is reported as such first.
    new Option("-t, --tenant <tenant>", "tenant (required; letters, digits, '_' or '-')").argParser(
      token,
    );
  const source = (what: string) =>
    new Option("-s, --source <source>", what).argParser(token).default("cli");

  command("ingest", "publish documents from a JSONL file or a folder as data events", [
    "tailor ingest --tenant acme --jsonl docs.jsonl",
    "tailor ingest --tenant acme --dir ./handbook --source handbook --wait",
    "tailor ingest --tenant acme --jsonl docs.jsonl --on-error skip",
  ])
    .addOption(tenant())
    .option(
      "--jsonl <file>",
      'one JSON object a line: {"id","title","text","content_type","metadata"}',
    )
    .option("--dir <path>", "a folder of .md, .txt and .html files (ids are their paths)")
    .addOption(source("source system the documents come from"))
    .addOption(
      new Option("--format <format>", "data event encoding")
        .choices(["protobuf", "cloudevents"])
        .default("protobuf"),
    )
    .addOption(
      new Option(
        "--on-error <what>",
        "a bad line or a document NATS refuses: stop there (safe for scripts) or skip it and go on",
      )
        .choices(["stop", "skip"])
        .default("stop"),
    )
    .option("--wait", "return only when every published document is searchable")
    .addOption(
      new Option("--wait-timeout <seconds>", "how long --wait waits")
        .argParser(seconds)
        .default(300_000, "300"),
    )
    .option("--no-progress", "no progress bar (there is none when stderr is not a terminal)")
    .action((opts, cmd: Command) =>
      done(async () => (await import("./commands/ingest.js")).runIngest(opts, globals(cmd))),
    );

  command("search", "search a tenant's documents, or run a topics file into a TREC run", [
    'tailor search --tenant acme "how do I rotate the keys"',
    'tailor search --tenant acme --mode keyword --k 5 --meta lang=en "rotate keys"',
    'tailor search --tenant acme --json "rotate keys" | jq ".hits[0].metadata"',
    "tailor search --tenant acme --topics topics.tsv --run run.txt --k 1000",
  ])
    .argument("[query...]", "what to look for")
    .addOption(tenant())
    .addOption(
      new Option("--k <n>", "how many hits (default 10; 1000 with --topics)").argParser(
        intIn(1, 1000),
      ),
    )
    .addOption(
      new Option("--mode <mode>", "how to match")
        .choices(["dense", "keyword", "hybrid"])
        .default("hybrid"),
    )
    .option("-s, --source <source>", "only this source (repeatable)", tokens)
    .option("--meta <key=value>", "only chunks whose metadata has this pair (repeatable)", keyValue)
    .option("--json", "print the whole response as JSON (every field of every hit)")
    .option("--topics <file>", "batch: qid<TAB>query lines")
    .option("--run <file>", "batch: where to write the TREC run")
    .option("--tag <tag>", "batch: run tag", "tailor")
    .action((query: string[], opts, cmd: Command) =>
      done(async () => (await import("./commands/search.js")).runSearch(query, opts, globals(cmd))),
    );

  command("stats", "count what the index holds for a tenant", [
    "tailor stats --tenant acme",
    "tailor stats --tenant acme --json",
  ])
    .addOption(tenant())
    .option("--json", "print JSON")
    .action((opts, cmd: Command) =>
      done(async () => (await import("./commands/documents.js")).runStats(opts, globals(cmd))),
    );

  command("list", "list a tenant's documents, newest first", [
    "tailor list --tenant acme",
    "tailor list --tenant acme --source handbook --limit 500 --json",
  ])
    .addOption(tenant())
    .option("-s, --source <source>", "only this source", token)
    .addOption(
      new Option("--limit <n>", "at most this many documents")
        .argParser(intIn(1, 1_000_000))
        .default(50),
    )
    .option("--page-token <token>", "continue where an earlier list stopped")
    .option("--json", "print JSON (one object with documents and nextPageToken)")
    .action((opts, cmd: Command) =>
      done(async () => (await import("./commands/documents.js")).runList(opts, globals(cmd))),
    );

  command("get", "show one document, and with --chunks its chunks", [
    "tailor get --tenant acme guide.md --source handbook",
    "tailor get --tenant acme doc-17 --chunks --json",
  ])
    .argument("<id>", "document id")
    .addOption(tenant())
    .addOption(source("the document's source"))
    .option("--chunks", "also show its chunks")
    .option("--json", "print JSON")
    .action((id: string, opts, cmd: Command) =>
      done(async () => (await import("./commands/documents.js")).runGet(id, opts, globals(cmd))),
    );

  command("delete", "delete a document and retire its chunks from the index", [
    "tailor delete --tenant acme doc-17",
    "tailor delete --tenant acme guide.md --source handbook",
  ])
    .argument("<id>", "document id")
    .addOption(tenant())
    .addOption(source("the document's source"))
    .action((id: string, opts, cmd: Command) =>
      done(async () => (await import("./commands/documents.js")).runDelete(id, opts, globals(cmd))),
    );

  addModelCommands(program, globals, done);
  return program;
}

function addModelCommands(
  program: Command,
  globals: (cmd: Command) => Globals,
  done: (run: Run) => void,
): void {
  const models = program
    .command("models")
    .description("publish model folders and load, unload or list the model-server's models")
    .configureOutput(usageOutput("tailor models"))
    .addHelpText(
      "after",
      `
Examples:
  $ tailor models publish ./bge-small --name bge-small --version 1
  $ tailor models load --name bge-small
  $ tailor models list`,
    );
  const sub = (name: string, description: string) =>
    withCommon(models.command(name))
      .description(description)
      .configureOutput(usageOutput(`tailor models ${name}`));
  const run = (fn: (m: typeof import("./commands/models.js")) => Promise<number>) =>
    done(async () => fn(await import("./commands/models.js")));
  sub("publish", "copy a Hugging Face/Optimum ONNX folder into the artifact store, checksummed")
    .argument("<dir>", "the model folder (config.json, model.onnx, tokenizer.json)")
    .requiredOption("--name <name>", "model name")
    .requiredOption("--version <version>", "model version (published versions never change)")
    .option("--root <dir>", "artifact store (default $TAILOR_DATA_DIR/models)")
    .action((dir: string, opts, cmd: Command) => run((m) => m.runPublish(dir, opts, globals(cmd))));
  sub("load", "load a published model into the model-server")
    .requiredOption("--name <name>", "model name")
    .option("--version <version>", "model version (default: the newest)")
    .option("--base <name>", "base model of an adapter")
    .action((opts, cmd: Command) => run((m) => m.runLoad(opts, globals(cmd))));
  sub("unload", "unload a model from the model-server")
    .requiredOption("--name <name>", "model name")
    .option("--version <version>", "model version (default: every loaded version)")
    .action((opts, cmd: Command) => run((m) => m.runUnload(opts, globals(cmd))));
  sub("list", "list the models the model-server has loaded")
    .option("--json", "print JSON")
    .action((opts, cmd: Command) => run((m) => m.runList(opts, globals(cmd))));
}
