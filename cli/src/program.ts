import { Command, Option } from "commander";
import pkg from "../package.json" with { type: "json" };
import { intIn, keyValue, registryVersion, runTag, seconds, token, tokens } from "./args.js";
import { addKeyCommands } from "./program-keys.js";
import { addLoopCommands } from "./program-loop.js";
import { addModelCommands } from "./program-models.js";
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
  TAILOR_REGISTRY_URL       model registry (default http://127.0.0.1:$TAILOR_REGISTRY_PORT, 7105)
  TAILOR_TRAINER_URL        trainer (default http://127.0.0.1:$TAILOR_TRAINER_PORT, 7106)
  TAILOR_EVALUATOR_URL      evaluator (default http://127.0.0.1:$TAILOR_EVALUATOR_PORT, 7107)
  TAILOR_GUARD_URL          guard (default http://127.0.0.1:$TAILOR_GUARD_PORT, 7108)
  TAILOR_INFERENCE_GATEWAY_URL  inference-gateway, for keys (default http://127.0.0.1:$TAILOR_INFERENCE_GATEWAY_PORT, 7100)
  TAILOR_DATA_DIR           models publish stores under $TAILOR_DATA_DIR/models (default .tailor/data)

Exit codes:
  0  done
  1  the operation failed: the stack did not answer, a document was not found, ingest skipped
     or could not publish a document, --wait ran out of time
  2  usage error: unknown command or option, a missing or invalid value
  130  interrupted (Ctrl-C); a training job goes on running on the trainer
`;

/** Usage errors as one line that points at the command's help. */
function usageOutput(path: string) {
  return {
    outputError: (str: string, write: (s: string) => void) => write(formatUsageError(str, path)),
  };
}

/** `--timeout` and `--debug` after the command too (`tailor stats --tenant a --timeout 2`). */
function withCommon(cmd: Command, timeoutDefault = "10"): Command {
  return cmd
    .addOption(
      new Option(
        "--timeout <seconds>",
        `how long one call to the stack may take (default: ${timeoutDefault})`,
      ).argParser(seconds),
    )
    .option("--debug", "print the stack trace of an unexpected error");
}

/** What an action resolves to: the exit code. */
export type Run = () => Promise<number>;

/** What the command files (program-loop.ts, program-models.ts) build their commands with. */
export interface Kit {
  /** A subcommand of `parent` with --timeout/--debug, one-line usage errors and examples. */
  command(
    parent: Command,
    name: string,
    description: string,
    examples: string[],
    slowTimeoutMs?: number,
  ): Command;
  /** `-t, --tenant`, required unless the command is in `tenantOptional`. */
  tenant(description?: string): Option;
  /** The options every command understands; a slow call's own default deadline if given. */
  globals(cmd: Command, slowTimeoutMs?: number): Globals;
  done(run: Run): void;
  tenantOptional: Set<Command>;
  /** Checks that must come before the required-tenant check (a misspelt subcommand). */
  prechecks: Map<Command, (cmd: Command) => void>;
}

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
      "Tailor's command line: ingest documents, search them, look into the index, manage models, and customise retrieval (eval sets, training, evaluation, promotion).",
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
  $ tailor evalset import --tenant acme --name train --topics topics.tsv --qrels qrels.txt
  $ tailor train --tenant acme --kind all --evalset train
  $ tailor eval --tenant acme --evalset heldout --version retrieval@v2
  $ tailor models promote --tenant acme retrieval@v2 --alias canary --weight 0.1
  $ tailor ingest --help
${ENVIRONMENT}`,
    );

  const tenantOptional = new Set<Command>();
  const prechecks = new Map<Command, (cmd: Command) => void>();
  program.hook("preAction", (_program, action) => {
    prechecks.get(action)?.(action);
    if (
      !tenantOptional.has(action) &&
      action.options.some((o) => o.attributeName() === "tenant") &&
      !action.opts()["tenant"]
    )
      action.error("required option '-t, --tenant <tenant>' not specified");
  });
  // Given after the command, an option wins over the same one given before it. A slow call
  // (an evaluation, an import) has a longer default deadline, unless --timeout says otherwise.
  const globals = (cmd: Command, slowTimeoutMs?: number): Globals => {
    const top = program.opts() as { timeout: number; debug?: boolean };
    const own = cmd.opts() as { timeout?: number; debug?: boolean };
    const topGiven = program.getOptionValueSource("timeout") !== "default";
    return {
      timeoutMs: own.timeout ?? (topGiven ? top.timeout : (slowTimeoutMs ?? top.timeout)),
      debug: Boolean(own.debug ?? top.debug),
    };
  };
  const sub = (
    parent: Command,
    name: string,
    description: string,
    examples: string[],
    slowTimeoutMs?: number,
  ): Command => {
    const path = [...ancestors(parent), name].join(" ");
    const cmd = withCommon(
      parent.command(name),
      slowTimeoutMs ? String(slowTimeoutMs / 1000) : undefined,
    )
      .description(description)
      .configureOutput(usageOutput(`tailor ${path}`));
    return examples.length > 0
      ? cmd.addHelpText("after", `\nExamples:\n${examples.map((e) => `  $ ${e}`).join("\n")}\n`)
      : cmd;
  };
  const command = (name: string, description: string, examples: string[]): Command =>
    sub(program, name, description, examples);
  const tenant = (description = "tenant (required; letters, digits, '_' or '-')") =>
    // Checked in the action, not by commander, so a misspelt option is reported as such first.
    new Option("-t, --tenant <tenant>", description).argParser(token);
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
    "tailor search --tenant acme --version retrieval@v2 --topics topics.tsv --run run-v2.txt",
    'tailor search --tenant acme --alias canary "rotate keys"',
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
    .addOption(
      new Option(
        "--version <version>",
        "search at this registry version (e.g. retrieval@v2) (default: the prod alias)",
      )
        .argParser(registryVersion)
        .conflicts("alias"),
    )
    .addOption(
      new Option("--alias <alias>", "search at the version this alias points at").choices([
        "prod",
        "canary",
      ]),
    )
    .option("--json", "print the whole response as JSON (every field of every hit)")
    .option("--topics <file>", "batch: qid<TAB>query lines")
    .option("--run <file>", "batch: where to write the TREC run")
    .addOption(
      new Option(
        "--tag <tag>",
        "batch: run tag (default: the version searched, e.g. retrieval@v2)",
      ).argParser(runTag),
    )
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

  const guard = program
    .command("guard")
    .description("check texts for PII, injected instructions and policy with the guard service")
    .configureOutput(usageOutput("tailor guard"));
  const scan = sub(guard, "scan", "scan a JSONL file: one JSON verdict line per input line", [
    "tailor guard scan --jsonl texts.jsonl",
    "tailor guard scan --jsonl chunks.jsonl --tenant acme --as-content",
  ])
    .requiredOption("--jsonl <file>", 'one JSON object a line: {"id","text"}')
    .addOption(tenant("tenant whose policy applies (default: default)"))
    .option("--as-content", "score the texts as retrieved content (indirect injection)")
    .action((opts, cmd: Command) =>
      done(async () => (await import("./commands/guard.js")).runGuardScan(opts, globals(cmd))),
    );
  tenantOptional.add(scan);

  const kit: Kit = { command: sub, tenant, globals, done, tenantOptional, prechecks };
  addLoopCommands(program, kit);
  addModelCommands(program, kit);
  addKeyCommands(program, kit);
  return program;
}

/** `models promote` → ["models"], for the usage line of a nested command. */
function ancestors(cmd: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names;
}
