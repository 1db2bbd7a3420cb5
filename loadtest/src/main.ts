import { formatFigure } from "./metrics.js";
import { OptionsError, parseOptions, USAGE, wantsHelp } from "./options.js";
import { runLoadtest } from "./run.js";
import { openTarget } from "./target.js";

/**
 * The load and soak harness: `node --import tsx loadtest/src/main.ts --rate 200 --duration 60`.
 * Figures go to stdout as JSON lines; progress and errors to stderr.
 */
async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    console.log(USAGE);
    return 0;
  }
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(argv, process.env);
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    console.error(`${err.message}\n\n${USAGE}`);
    return 2;
  }
  const progress = (fields: Record<string, unknown>) =>
    console.error(JSON.stringify({ loadtest: "progress", ...fields }));

  // First signal: stop the load and report what was measured; the second one is the default kill.
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    progress({ event: `${sig}: stopping early` });
    stop.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const target = await openTarget(options);
  try {
    const figures = await runLoadtest(options, target, progress, stop.signal);
    for (const f of figures) console.log(formatFigure(f));
  } finally {
    await target.close();
  }
  return 0;
}

process.exitCode = await main();
