import { type Command, Option } from "commander";
import { reason, registryVersion, token, weight } from "./args.js";
import type { Kit } from "./program.js";
import { formatUsageError } from "./usage.js";

const ALIASES = ["prod", "canary"];

/**
 * `tailor models`: the model-server's artifacts (publish, load, unload, list without --tenant)
 * and a tenant's registry (list --tenant, show, promote, rollback). The two meet in `list`: with
 * --tenant it lists the tenant's registered models, without it what the model-server has loaded,
 * as it always did.
 */
export function addModelCommands(program: Command, kit: Kit): void {
  const models = program
    .command("models")
    .description(
      "publish model folders, load or unload them on the model-server; list, show, promote and roll back a tenant's registered versions",
    )
    .configureOutput({
      outputError: (str, write) => write(formatUsageError(str, "tailor models")),
    })
    .addHelpText(
      "after",
      `
Examples:
  $ tailor models publish ./bge-small --name bge-small --version 1
  $ tailor models load --name bge-small
  $ tailor models list
  $ tailor models list --tenant acme
  $ tailor models show --tenant acme retrieval@v2
  $ tailor models promote --tenant acme retrieval@v2 --alias canary --weight 0.1
  $ tailor models rollback --tenant acme --alias prod --reason "p95 latency up"`,
    );
  const { command, globals, done } = kit;
  const artifacts = (fn: (m: typeof import("./commands/models.js")) => Promise<number>) =>
    done(async () => fn(await import("./commands/models.js")));
  const registry = (fn: (m: typeof import("./commands/registry.js")) => Promise<number>) =>
    done(async () => fn(await import("./commands/registry.js")));

  command(
    models,
    "publish",
    "copy a Hugging Face/Optimum ONNX folder into the artifact store, checksummed",
    [],
  )
    .argument("<dir>", "the model folder (config.json, model.onnx, tokenizer.json)")
    .requiredOption("--name <name>", "model name")
    .requiredOption("--version <version>", "model version (published versions never change)")
    .option("--root <dir>", "artifact store (default $TAILOR_DATA_DIR/models)")
    .action((dir: string, opts, cmd: Command) =>
      artifacts((m) => m.runPublish(dir, opts, globals(cmd))),
    );
  command(models, "load", "load a published model into the model-server", [])
    .requiredOption("--name <name>", "model name")
    .option("--version <version>", "model version (default: the newest)")
    .option("--base <name>", "base model of an adapter")
    .action((opts, cmd: Command) => artifacts((m) => m.runLoad(opts, globals(cmd))));
  command(models, "unload", "unload a model from the model-server", [])
    .requiredOption("--name <name>", "model name")
    .option("--version <version>", "model version (default: every loaded version)")
    .action((opts, cmd: Command) => artifacts((m) => m.runUnload(opts, globals(cmd))));

  const list = command(
    models,
    "list",
    "with --tenant: the tenant's registered models (aliases, weights, versions); without: the models the model-server has loaded",
    [
      "tailor models list --tenant acme",
      "tailor models list --tenant acme --json",
      "tailor models list",
    ],
  )
    .addOption(
      kit.tenant("the tenant whose registry to list (without it: the model-server's list)"),
    )
    .option("--json", "print JSON")
    .action((opts: { tenant?: string; json?: boolean }, cmd: Command) =>
      opts.tenant
        ? registry((m) =>
            m.runModels({ tenant: opts.tenant as string, json: Boolean(opts.json) }, globals(cmd)),
          )
        : artifacts((m) => m.runList({ json: Boolean(opts.json) }, globals(cmd))),
    );
  kit.tenantOptional.add(list);

  const model = () =>
    new Option("--model <model>", "registered model").argParser(token).default("retrieval");
  command(
    models,
    "show",
    "show one version: its spec and lineage (parent, job, dataset hash, kind, artifacts, reports), state and aliases",
    [
      "tailor models show --tenant acme retrieval@v2",
      "tailor models show --tenant acme --alias prod --json",
      "tailor models show --tenant acme",
    ],
  )
    .argument(
      "[version]",
      "registry version (e.g. retrieval@v2); without it or --alias: every version of the model",
      registryVersion,
    )
    .addOption(kit.tenant())
    .addOption(new Option("--alias <alias>", "the version this alias points at").choices(ALIASES))
    .addOption(model())
    .option("--json", "print JSON")
    .action((version: string | undefined, opts, cmd: Command) =>
      registry((m) => m.runShow(version, opts, globals(cmd))),
    );

  command(
    models,
    "promote",
    "point an alias at a version (prod, or canary at a share of traffic)",
    [
      "tailor models promote --tenant acme retrieval@v3",
      'tailor models promote --tenant acme retrieval@v3 --alias canary --weight 0.1 --reason "report r-17"',
    ],
  )
    .argument("<version>", "registry version (e.g. retrieval@v3)", registryVersion)
    .addOption(kit.tenant())
    .addOption(new Option("--alias <alias>", "which alias").choices(ALIASES).default("prod"))
    .addOption(
      new Option(
        "--weight <share>",
        "canary only: share of traffic in (0, 1] (default: 0.1)",
      ).argParser(weight),
    )
    .addOption(new Option("--reason <text>", "why; kept with the alias history").argParser(reason))
    .action((version: string, opts, cmd: Command) =>
      registry((m) => m.runPromote(version, opts, globals(cmd))),
    );

  command(models, "rollback", "point an alias back at the version it pointed at before", [
    "tailor models rollback --tenant acme",
    'tailor models rollback --tenant acme --alias canary --reason "p95 latency up"',
  ])
    .addOption(kit.tenant())
    .addOption(model())
    .addOption(new Option("--alias <alias>", "which alias").choices(ALIASES).default("prod"))
    .addOption(new Option("--reason <text>", "why; kept with the alias history").argParser(reason))
    .action((opts, cmd: Command) => registry((m) => m.runRollback(opts, globals(cmd))));
}
