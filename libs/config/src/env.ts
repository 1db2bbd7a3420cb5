import { redactUrl } from "@tailor/telemetry";
import { z } from "zod";

/** A configuration value that failed validation; the message names every offending variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "invalid_config";
  constructor(
    message: string,
    readonly variables: string[],
  ) {
    super(message);
  }
}

/** Variables whose values an error message must never repeat. */
const SECRET_NAME = /PASSWORD|TOKEN|SECRET|CREDS/;

export type EnvSchema = Record<string, z.ZodType>;
export type EnvValues<S extends EnvSchema> = { [K in keyof S]: z.output<S[K]> };

/**
 * Parses the named environment variables with zod. Empty strings count as unset so that
 * `FOO= cmd` falls back to the default instead of failing.
 */
export function parseEnv<S extends EnvSchema>(schema: S, env: NodeJS.ProcessEnv): EnvValues<S> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema)) {
    const v = env[key];
    input[key] = v === undefined || v === "" ? undefined : v;
  }
  const result = z.object(schema).safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const name = String(i.path[0] ?? "?");
      const shown =
        input[name] === undefined
          ? "unset"
          : SECRET_NAME.test(name)
            ? "[redacted]"
            : shownValue(name, input[name]);
      return `${name} (${shown}): ${i.message}`;
    });
    const names = [...new Set(result.error.issues.map((i) => String(i.path[0] ?? "?")))];
    throw new ConfigError(`invalid configuration: ${problems.join("; ")}`, names);
  }
  return result.data as EnvValues<S>;
}

/** Reusable field types. */
export const env = {
  port: (def: number) => z.coerce.number().int().min(0).max(65535).default(def),
  int: (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce.number().int().min(min).max(max).default(def),
  bool: (def: boolean) =>
    z
      .enum(["true", "false", "1", "0", "yes", "no"])
      .default(def ? "true" : "false")
      .transform((v) => v === "true" || v === "1" || v === "yes"),
  url: (def?: string) => (def === undefined ? z.string().url() : z.string().url().default(def)),
  optionalUrl: () => z.string().url().optional(),
  str: (def: string) => z.string().default(def),
  /**
   * A bus prefix (TAILOR_BUS_PREFIX): lower-case words of letters and digits joined by single
   * '-', so that its stream names (upper case, '-' → '_') cannot collide with another prefix's.
   * Kept in step with busPrefixProblem in libs/bus/src/subjects.ts (a test there checks both).
   */
  prefix: () =>
    z
      .string()
      .max(32, "is longer than 32 characters")
      .regex(
        /^([a-z0-9]+(-[a-z0-9]+)*)?$/,
        "must be lower-case letters and digits in words joined by single '-' (e.g. acme-prod)",
      )
      .refine(
        (p) => !["data", "chunk", "embedding", "dlq", "obj", "kv"].includes(p),
        "is reserved (it would overlap another deployment's subjects or streams)",
      )
      .default(""),
};

/**
 * How a refused value is quoted in the error. A malformed URL may still hold a password, and
 * without a `scheme://` nothing says where it is (`postgres//admin:pw@host`): such a value of a
 * URL variable is not quoted at all.
 */
function shownValue(name: string, value: string): string {
  if (!/URL/.test(name)) return JSON.stringify(redactUrl(value));
  if (!value.includes("://")) return "value not shown: it has no scheme://";
  return JSON.stringify(redactUrl(value));
}
