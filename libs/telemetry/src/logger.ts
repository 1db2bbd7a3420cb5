import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";
import { redactUrl, serializeError, serializeReason, serializeUrl } from "./redact.js";

export type { Logger };

/**
 * Creates the structured logger of one package. Secrets are redacted wherever they appear, and
 * errors lose every field that may echo data (PostgreSQL's `detail`/`where`, query parameters,
 * quoted input): logs never hold document text, metadata values, queries or credentials.
 */
export function createLogger(
  name: string,
  level = defaultLevel(),
  destination?: DestinationStream,
): Logger {
  const options: LoggerOptions = {
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
    serializers: {
      err: serializeError,
      error: serializeError,
      cause: serializeError,
      reason: serializeReason,
      url: serializeUrl,
      natsUrl: serializeUrl,
    },
    hooks: {
      // Messages are strings the code built; a URL with a password may still have slipped in.
      logMethod(args, method) {
        for (let i = 0; i < args.length; i++) {
          const a = args[i];
          if (typeof a === "string") args[i] = redactUrl(a);
        }
        method.apply(this, args);
      },
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

function defaultLevel(): string {
  // The one sanctioned read of the environment outside config: log level must work before config parses.
  const lvl = process.env["TAILOR_LOG_LEVEL"];
  return lvl && ["trace", "debug", "info", "warn", "error", "fatal", "silent"].includes(lvl)
    ? lvl
    : "info";
}
