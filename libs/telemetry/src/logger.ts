import { type Logger, pino } from "pino";

export type { Logger };

/** Creates the structured logger of one package; secrets are redacted wherever they appear. */
export function createLogger(name: string, level = defaultLevel()): Logger {
  return pino({
    name,
    level,
    base: { svc: name },
    redact: {
      paths: [
        "password",
        "*.password",
        "apiKey",
        "*.apiKey",
        "authorization",
        "*.authorization",
        "databaseUrl",
        "*.databaseUrl",
      ],
      censor: "[redacted]",
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

function defaultLevel(): string {
  // The one sanctioned read of the environment outside config: log level must work before config parses.
  const lvl = process.env["TAILOR_LOG_LEVEL"];
  return lvl && ["trace", "debug", "info", "warn", "error", "fatal", "silent"].includes(lvl)
    ? lvl
    : "info";
}
