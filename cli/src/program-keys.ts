import { type Command, InvalidArgumentError, Option } from "commander";
import { intIn, reason } from "./args.js";
import type { Kit } from "./program.js";
import { formatUsageError } from "./usage.js";

/** `--rps`: requests per second, fractions allowed (0.5 = one every two seconds). */
function rate(value: string): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || !(n > 0) || n > 1_000_000)
    throw new InvalidArgumentError("Expected requests per second above 0 (at most 1000000)");
  return n;
}

/** `--token-budget`: tokens per budget period. */
function tokenBudget(value: string): bigint {
  if (!/^\d{1,16}$/.test(value) || BigInt(value) < 1n || BigInt(value) > 9007199254740991n)
    throw new InvalidArgumentError("Expected a whole number of tokens from 1 to 9007199254740991");
  return BigInt(value);
}

/** `tailor keys`: the inference-gateway's API keys (create, list, revoke). */
export function addKeyCommands(program: Command, kit: Kit): void {
  const keys = program
    .command("keys")
    .description("create, list and revoke a tenant's API keys for the inference-gateway")
    .configureOutput({
      outputError: (str, write) => write(formatUsageError(str, "tailor keys")),
    })
    .addHelpText(
      "after",
      `
Examples:
  $ tailor keys create --tenant acme --name backend
  $ tailor keys create --tenant acme --rps 5 --burst 20 --token-budget 1000000
  $ tailor keys list --tenant acme
  $ tailor keys revoke --tenant acme 3f9c0a6b1d2e4f58

The gateway's admin token is TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN, else the file a local stack
(npm run up) keeps under $TAILOR_DATA_DIR. The gateway is TAILOR_INFERENCE_GATEWAY_URL
(default http://127.0.0.1:$TAILOR_INFERENCE_GATEWAY_PORT, 7100).`,
    );
  const { command, globals, done } = kit;
  const run = (fn: (m: typeof import("./commands/keys.js")) => Promise<number>) =>
    done(async () => fn(await import("./commands/keys.js")));

  command(
    keys,
    "create",
    "make a new API key; the key is printed once, alone on the last line (keep it: it cannot be shown again)",
    [
      "tailor keys create --tenant acme --name backend",
      "tailor keys create --tenant acme --rps 5 --burst 20 --token-budget 1000000 | tail -n 1",
    ],
  )
    .addOption(kit.tenant())
    .addOption(new Option("--name <name>", "what the key is for (shown by list)").argParser(reason))
    .addOption(
      new Option("--rps <n>", "sustained requests per second (default: the gateway's)").argParser(
        rate,
      ),
    )
    .addOption(
      new Option("--burst <n>", "requests allowed at once (default: the gateway's)").argParser(
        intIn(1, 1_000_000),
      ),
    )
    .addOption(
      new Option(
        "--token-budget <n>",
        "prompt + completion tokens per budget period (default: the gateway's)",
      ).argParser(tokenBudget),
    )
    .option("--json", "print the key and its secret as JSON instead")
    .action((opts, cmd: Command) => run((m) => m.runCreate(opts, globals(cmd))));

  command(keys, "list", "list a tenant's keys: id, name, created, revoked, tokens used", [
    "tailor keys list --tenant acme",
    "tailor keys list --tenant acme --active --json",
  ])
    .addOption(kit.tenant())
    .option("--active", "leave out revoked keys")
    .option("--json", "print JSON")
    .action((opts, cmd: Command) => run((m) => m.runList(opts, globals(cmd))));

  command(
    keys,
    "revoke",
    "revoke a key: every gateway replica refuses it within seconds (its key cache's lifetime)",
    ["tailor keys revoke --tenant acme 3f9c0a6b1d2e4f58"],
  )
    .argument("<id>", "the key's id (from list; the part of tlr_<id>_<secret> before the secret)")
    .addOption(kit.tenant())
    .action((id: string, opts, cmd: Command) => run((m) => m.runRevoke(id, opts, globals(cmd))));
}
