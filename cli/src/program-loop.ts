import { type Command, Option } from "commander";
import { intIn, jobId, reason, registryVersion, seed, setName } from "./args.js";
import type { Kit } from "./program.js";
import { formatUsageError } from "./usage.js";

/** Evaluations search every query of a set: minutes, not the 10 s of an ordinary call. */
const EVAL_TIMEOUT_MS = 600_000;
/** Imports parse and store up to tens of MiB. */
const IMPORT_TIMEOUT_MS = 120_000;

const KINDS = ["reranker", "retrieval-params", "adapter", "all", "guard", "lora"];

/** The customisation loop: `evalset`, `train`, `eval`. */
export function addLoopCommands(program: Command, kit: Kit): void {
  addEvalSet(program, kit);
  addTrain(program, kit);
  const { command, globals, done } = kit;
  command(
    program,
    "eval",
    "score a version (or the version an alias points at) on an eval set; prints the metrics as JSON",
    [
      "tailor eval --tenant acme --evalset heldout",
      "tailor eval --tenant acme --evalset heldout --version retrieval@v2 --depth 1000",
      "tailor eval --tenant acme --evalset heldout --alias canary | jq .metrics.ndcg_cut_10",
    ],
    EVAL_TIMEOUT_MS,
  )
    .addOption(kit.tenant())
    .requiredOption("--evalset <name>", "eval set to score on (required)", setName)
    .addOption(
      new Option("--version <version>", "registry version (e.g. retrieval@v2) (default: prod)")
        .argParser(registryVersion)
        .conflicts("alias"),
    )
    .addOption(new Option("--alias <alias>", "the version this alias points at").choices(ALIASES))
    .addOption(new Option("--depth <k>", "ranking depth (default: 100)").argParser(intIn(1, 1000)))
    .action((opts, cmd: Command) =>
      done(async () =>
        (await import("./commands/eval.js")).runEval(opts, globals(cmd, EVAL_TIMEOUT_MS)),
      ),
    );
}

const ALIASES = ["prod", "canary"];

function addEvalSet(program: Command, kit: Kit): void {
  const { command, globals, done } = kit;
  const group = program
    .command("evalset")
    .description("import and list a tenant's eval sets (queries with judged documents)")
    .configureOutput({
      outputError: (str, write) => write(formatUsageError(str, "tailor evalset")),
    })
    .addHelpText(
      "after",
      `
Examples:
  $ tailor evalset import --tenant acme --name train --topics topics.tsv --qrels qrels.txt --keep odd
  $ tailor evalset import --tenant acme --name qa --jsonl questions.jsonl
  $ tailor evalset list --tenant acme`,
    );
  const run = (fn: (m: typeof import("./commands/evalset.js")) => Promise<number>) =>
    done(async () => fn(await import("./commands/evalset.js")));
  command(
    group,
    "import",
    "import an eval set: TREC topics and qrels, or JSONL questions; prints its queries, judged queries and hash",
    [
      "tailor evalset import --tenant acme --name train --topics topics.tsv --qrels qrels.txt --keep odd",
      "tailor evalset import --tenant acme --name heldout --topics topics.tsv --qrels qrels.txt --keep even",
      "tailor evalset import --tenant acme --name qa --jsonl questions.jsonl --replace",
    ],
    IMPORT_TIMEOUT_MS,
  )
    .addOption(kit.tenant())
    .requiredOption("--name <name>", "eval set name (required)", setName)
    .option("--topics <file>", "TREC topics: qid<TAB>query lines (the file search --topics reads)")
    .option("--qrels <file>", "TREC qrels: qid 0 docid grade lines")
    .option(
      "--jsonl <file>",
      'question/answer lines instead: {"id","question","answer", relevant document ids}',
    )
    .option("--replace", "replace an existing set of that name (else it is refused)")
    .addOption(
      new Option(
        "--keep <half>",
        "keep only odd or even numeric query ids (train on one half, hold out the other)",
      ).choices(["odd", "even"]),
    )
    .option("--json", "print the eval set's summary as JSON")
    .action((opts, cmd: Command) => run((m) => m.runImport(opts, globals(cmd, IMPORT_TIMEOUT_MS))));
  command(group, "list", "list a tenant's eval sets", [
    "tailor evalset list --tenant acme",
    "tailor evalset list --tenant acme --json",
  ])
    .addOption(kit.tenant())
    .option("--json", "print JSON")
    .action((opts, cmd: Command) => run((m) => m.runList(opts, globals(cmd))));
}

function addTrain(program: Command, kit: Kit): void {
  const { command, globals, done } = kit;
  const run = (fn: (m: typeof import("./commands/train.js")) => Promise<number>) =>
    done(async () => fn(await import("./commands/train.js")));
  const job = () => new Option("--job <id>", "the job's id (train prints it)").argParser(jobId);
  const train = command(
    program,
    "train",
    "train a candidate version on an eval set, wait for it and print it (last line of stdout)",
    [
      "tailor train --tenant acme --kind all --evalset train --heldout heldout",
      "tailor train --tenant acme --kind reranker --evalset train --seed 7 --json",
      "tailor train --tenant acme --kind adapter --evalset train --no-wait",
      "tailor train --tenant acme --kind guard",
      "tailor train watch --tenant acme --job 3f2a…",
      "tailor train cancel --tenant acme --job 3f2a…",
    ],
  )
    .usage(
      "--tenant T --kind KIND --evalset N [options]\n       tailor train watch|cancel|list --tenant T [options]",
    )
    .addOption(kit.tenant())
    .addOption(new Option("--kind <kind>", "what to train (required)").choices(KINDS))
    .option("--evalset <name>", "eval set to train on (required, except for --kind guard)", setName)
    .option("--heldout <name>", "eval set held out to check the candidate on", setName)
    .option("--seed <n>", "random seed (default: the trainer's fixed default)", seed)
    .option("--base <version>", "version to start from (default: the prod alias)", registryVersion)
    .addOption(new Option("--reason <text>", "why; kept with the job").argParser(reason))
    .option("--no-wait", "print the job id and return; the job runs on")
    .option("--no-progress", "no progress on stderr")
    .option("--json", "print one JSON object (job, version, state, metrics, …)")
    // Operands and unknown options reach the precheck below rather than failing in commander.
    .allowExcessArguments(true)
    .allowUnknownOption(true)
    .action((opts, cmd: Command) => {
      if (!opts.kind) cmd.error("required option '--kind <kind>' not specified");
      // A guard classifier trains on the injection data and the tenant's flagged questions.
      if (!opts.evalset && opts.kind !== "guard")
        cmd.error("required option '--evalset <name>' not specified");
      run((m) => m.runTrain(opts, globals(cmd)));
    });
  // `train` runs and has subcommands: an operand here is a misspelt subcommand, and that is
  // the error to report, before any option of the subcommand it meant (`cancle --job J`).
  kit.prechecks.set(train, (cmd) => {
    const first = cmd.args[0];
    if (first === undefined) return;
    const parser = cmd as unknown as { unknownCommand(): never; unknownOption(o: string): never };
    cmd.allowUnknownOption(false);
    if (first.startsWith("-")) parser.unknownOption(first);
    parser.unknownCommand();
  });
  command(train, "watch", "wait for a job as train does, and print its version", [
    "tailor train watch --tenant acme --job 3f2a…",
  ])
    .addOption(kit.tenant())
    .addOption(job().makeOptionMandatory())
    .option("--no-progress", "no progress on stderr")
    .option("--json", "print one JSON object (job, version, state, metrics, …)")
    .action((opts, cmd: Command) => run((m) => m.runWatch(opts, globals(cmd))));
  command(train, "cancel", "cancel a queued or running job", [
    "tailor train cancel --tenant acme --job 3f2a…",
  ])
    .addOption(kit.tenant())
    .addOption(job().makeOptionMandatory())
    .option("--json", "print the job as JSON")
    .action((opts, cmd: Command) => run((m) => m.runCancel(opts, globals(cmd))));
  command(train, "list", "list a tenant's training jobs, newest first", [
    "tailor train list --tenant acme --limit 5",
  ])
    .addOption(kit.tenant())
    .addOption(
      new Option("--limit <n>", "at most this many jobs").argParser(intIn(1, 1000)).default(20),
    )
    .option("--json", "print JSON")
    .action((opts, cmd: Command) => run((m) => m.runJobs(opts, globals(cmd))));
}
