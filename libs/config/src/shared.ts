import { existsSync } from "node:fs";
import { z } from "zod";
import { ConfigError, env, parseEnv } from "./env.js";
import { Secret } from "./secret.js";

/** Variables every Tailor process understands. */
export const sharedEnvSchema = {
  TAILOR_NATS_URL: z.string().min(1).default("nats://127.0.0.1:4222"),
  TAILOR_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .default("postgres://postgres@127.0.0.1:5432/tailor"),
  TAILOR_BUS_PREFIX: env.prefix(),
  TAILOR_BUS_REPLICAS: env.int(1, 1, 5),
  TAILOR_DATA_DIR: z.string().min(1).default(".tailor/data"),
  TAILOR_HOST: z.string().min(1).default("127.0.0.1"),
};

/**
 * How a process authenticates to NATS: a user and password, a token, or a `.creds` file (JWT
 * and NKey seed); nothing at all on a laptop whose nats-server has no users.
 */
export type NatsAuth =
  | { method: "none" }
  | { method: "user"; user: string; pass: Secret }
  | { method: "token"; token: Secret }
  | { method: "creds"; credsFile: string };

export interface SharedConfig {
  natsUrl: string;
  natsAuth: NatsAuth;
  databaseUrl: string;
  /** Prefix of every subject and stream name, so several deployments or test suites share one NATS. */
  busPrefix: string;
  /** Replicas of each JetStream stream: 1 on a laptop, 3 on a cluster. */
  busReplicas: number;
  dataDir: string;
  host: string;
}

/**
 * Parses the shared variables. `service` is the service's variable prefix (e.g.
 * "TAILOR_INGESTION"): its `<prefix>_NATS_USER`, `_NATS_PASSWORD`, `_NATS_TOKEN` and
 * `_NATS_CREDS` replace the shared TAILOR_NATS_* ones, so one environment (the local launcher,
 * a test) can give each service its own NATS user.
 */
export function parseSharedConfig(e: NodeJS.ProcessEnv, service?: string): SharedConfig {
  const v = parseEnv(sharedEnvSchema, e);
  return {
    natsUrl: v.TAILOR_NATS_URL,
    natsAuth: parseNatsAuth(e, service),
    databaseUrl: v.TAILOR_DATABASE_URL,
    busPrefix: v.TAILOR_BUS_PREFIX,
    busReplicas: v.TAILOR_BUS_REPLICAS,
    dataDir: v.TAILOR_DATA_DIR,
    host: v.TAILOR_HOST,
  };
}

const AUTH_FIELDS = ["NATS_USER", "NATS_PASSWORD", "NATS_TOKEN", "NATS_CREDS"] as const;

/** Reads the NATS credentials; errors name the variables and never repeat their values. */
export function parseNatsAuth(e: NodeJS.ProcessEnv, service?: string): NatsAuth {
  const read = (prefix: string) =>
    Object.fromEntries(
      AUTH_FIELDS.map((f) => {
        const value = e[`${prefix}_${f}`];
        return [f, value === undefined || value === "" ? undefined : value];
      }),
    ) as Record<(typeof AUTH_FIELDS)[number], string | undefined>;
  const own = service ? read(service) : undefined;
  const useOwn = own !== undefined && Object.values(own).some((x) => x !== undefined);
  const prefix = useOwn && service ? service : "TAILOR";
  const a = useOwn && own ? own : read("TAILOR");
  const name = (f: (typeof AUTH_FIELDS)[number]) => `${prefix}_${f}`;
  const methods = [
    a.NATS_USER !== undefined || a.NATS_PASSWORD !== undefined ? "user" : undefined,
    a.NATS_TOKEN !== undefined ? "token" : undefined,
    a.NATS_CREDS !== undefined ? "creds" : undefined,
  ].filter((m) => m !== undefined);
  if (methods.length > 1) {
    const set = AUTH_FIELDS.filter((f) => a[f] !== undefined).map(name);
    throw new ConfigError(
      `invalid configuration: set only one way to authenticate to NATS (user and password, token or creds file), not ${set.join(", ")}`,
      set,
    );
  }
  if (a.NATS_USER !== undefined || a.NATS_PASSWORD !== undefined) {
    if (a.NATS_USER === undefined || a.NATS_PASSWORD === undefined) {
      const missing = a.NATS_USER === undefined ? name("NATS_USER") : name("NATS_PASSWORD");
      throw new ConfigError(
        `invalid configuration: ${missing} (unset): ${name("NATS_USER")} and ${name("NATS_PASSWORD")} go together`,
        [missing],
      );
    }
    return { method: "user", user: a.NATS_USER, pass: new Secret(a.NATS_PASSWORD) };
  }
  if (a.NATS_TOKEN !== undefined) return { method: "token", token: new Secret(a.NATS_TOKEN) };
  if (a.NATS_CREDS !== undefined) {
    if (!existsSync(a.NATS_CREDS)) {
      throw new ConfigError(
        `invalid configuration: ${name("NATS_CREDS")} (${JSON.stringify(a.NATS_CREDS)}): no such file`,
        [name("NATS_CREDS")],
      );
    }
    return { method: "creds", credsFile: a.NATS_CREDS };
  }
  return { method: "none" };
}
