import { parseArgs } from "node:util";

/** Everything one load-test run needs, parsed once from argv and the environment. */
export interface LoadtestOptions {
  /** Offered data-event rate, documents per second. */
  rate: number;
  durationS: number;
  /** Offered search RPC rate, requests per second (0 = none). */
  searchRate: number;
  searchMode: "keyword" | "dense" | "hybrid";
  tenants: number;
  docBytes: number;
  reportEveryS: number;
  /** How long to wait after the last publish for the index to catch up. */
  drainS: number;
  /** Documents whose publish → searchable latency is measured. */
  latencySamples: number;
  /** Markers looked up by keyword search after the drain. */
  spotChecks: number;
  /** Publishes (or searches) allowed in flight before new ones are shed and counted. */
  maxInFlight: number;
  selfContained: boolean;
  natsUrl: string;
  retrievalUrl: string;
  busPrefix: string;
  busReplicas: number;
  seed: number;
}

export class OptionsError extends Error {
  override readonly name = "OptionsError";
  readonly code = "invalid_options";
}

export const USAGE = `usage: node --import tsx loadtest/src/main.ts [options]
  --rate N             data events per second, open loop (default 50)
  --duration S         seconds of load (default 30)
  --search-rate N      search RPCs per second, open loop (default 10; 0 = none)
  --search-mode M      keyword | dense | hybrid (default hybrid)
  --tenants K          tenants the documents are spread over (default 4)
  --doc-bytes B        approximate size of each document's text (default 2000)
  --report-every S     progress line on stderr every S seconds (default 5; 0 = none)
  --drain S            wait up to S seconds for the index to catch up (default 120)
  --latency-samples N  documents timed publish → searchable (default 50)
  --spot-checks N      markers looked up by keyword search at the end (default 100)
  --max-in-flight N    outstanding publishes/searches before shedding (default 5000)
  --seed N             seed of the text generator (default 1)
  --self-contained     start an isolated stack (own database, bus prefix, ports) and stop it after
Without --self-contained it targets a running stack (npm run up) through TAILOR_NATS_URL,
TAILOR_RETRIEVAL_URL, TAILOR_BUS_PREFIX and TAILOR_BUS_REPLICAS; only loopback addresses.`;

function num(
  name: string,
  raw: string | undefined,
  def: number,
  min: number,
  max: number,
  integer = false,
): number {
  if (raw === undefined || raw === "") return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new OptionsError(
      `${name} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}], got ${JSON.stringify(raw)}`,
    );
  }
  return v;
}

/** Parses argv and the environment; throws OptionsError naming the bad option. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): LoadtestOptions {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (err) {
    throw new OptionsError((err as Error).message);
  }
  const mode = values["search-mode"] ?? "hybrid";
  if (mode !== "keyword" && mode !== "dense" && mode !== "hybrid") {
    throw new OptionsError(`--search-mode must be keyword, dense or hybrid, got ${mode}`);
  }
  const busPrefix = env["TAILOR_BUS_PREFIX"] ?? "";
  if (!/^[A-Za-z0-9_-]*$/.test(busPrefix)) {
    throw new OptionsError(`TAILOR_BUS_PREFIX may hold only letters, digits, '-' and '_'`);
  }
  const o: LoadtestOptions = {
    rate: num("--rate", values.rate, 50, 0.01, 100_000),
    durationS: num("--duration", values.duration, 30, 1, 7 * 86_400),
    searchRate: num("--search-rate", values["search-rate"], 10, 0, 100_000),
    searchMode: mode,
    tenants: num("--tenants", values.tenants, 4, 1, 10_000, true),
    docBytes: num("--doc-bytes", values["doc-bytes"], 2000, 16, 8 * 1024 * 1024, true),
    reportEveryS: num("--report-every", values["report-every"], 5, 0, 86_400),
    drainS: num("--drain", values.drain, 120, 0, 86_400),
    latencySamples: num("--latency-samples", values["latency-samples"], 50, 0, 100_000, true),
    spotChecks: num("--spot-checks", values["spot-checks"], 100, 0, 100_000, true),
    maxInFlight: num("--max-in-flight", values["max-in-flight"], 5000, 1, 1_000_000, true),
    seed: num("--seed", values.seed, 1, 0, 2 ** 32 - 1, true),
    selfContained: values["self-contained"] ?? false,
    natsUrl: env["TAILOR_NATS_URL"] || "nats://127.0.0.1:4222",
    retrievalUrl: env["TAILOR_RETRIEVAL_URL"] || "http://127.0.0.1:7103",
    busPrefix,
    busReplicas: num("TAILOR_BUS_REPLICAS", env["TAILOR_BUS_REPLICAS"], 1, 1, 5, true),
  };
  for (const url of o.natsUrl.split(",")) assertLoopback("TAILOR_NATS_URL", url);
  assertLoopback("TAILOR_RETRIEVAL_URL", o.retrievalUrl);
  return o;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      rate: { type: "string" },
      duration: { type: "string" },
      "search-rate": { type: "string" },
      "search-mode": { type: "string" },
      tenants: { type: "string" },
      "doc-bytes": { type: "string" },
      "report-every": { type: "string" },
      drain: { type: "string" },
      "latency-samples": { type: "string" },
      "spot-checks": { type: "string" },
      "max-in-flight": { type: "string" },
      seed: { type: "string" },
      "self-contained": { type: "boolean" },
      help: { type: "boolean" },
    },
  });
}

/** True when argv asks for the usage text. */
export function wantsHelp(argv: string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

/**
 * A load generator pointed at the wrong host is a denial-of-service tool, so this harness
 * refuses anything but the local machine.
 */
export function assertLoopback(what: string, url: string): void {
  let host: string;
  try {
    host = new URL(url.trim()).hostname;
  } catch {
    throw new OptionsError(`${what}: ${JSON.stringify(url)} is not a URL`);
  }
  if (!isLoopbackHost(host)) {
    throw new OptionsError(
      `${what}: ${host} is not a loopback address; the load test only targets this machine`,
    );
  }
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
