import { CommanderError } from "commander";
import { printable } from "./args.js";
import { buildProgram } from "./program.js";
import { EXIT } from "./usage.js";

/** Runs one command line (no process-wide side effects: tests call it in-process) and resolves to its exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  let run: (() => Promise<number>) | undefined;
  const program = buildProgram((r) => {
    run = r;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; every other complaint of the parser is a usage error.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    return report(err, argv.includes("--debug"));
  }
  if (!run) return EXIT.ok;
  try {
    return await run();
  } catch (err) {
    return report(err, argv.includes("--debug"));
  }
}

async function report(err: unknown, debug: boolean): Promise<number> {
  // Loaded only on failure: it brings the RPC library, which --help and --version do without.
  const { describeError } = await import("./errors.js");
  const { message, exitCode } = describeError(err);
  process.stderr.write(`tailor: ${printable(message, 4000)}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return exitCode;
}
