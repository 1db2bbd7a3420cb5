import { isAbsolute, join, resolve } from "node:path";
import {
  env,
  type NatsAuth,
  parseEnv,
  parseSharedConfig,
  SERVICE_SPECS,
  type ServiceName,
} from "@tailor/config";

/** The variable that sets each service's port (the services read the same ones). */
export const PORT_VARS = Object.fromEntries(
  SERVICE_SPECS.map((s) => [s.name, s.portVar]),
) as Record<ServiceName, string>;

export interface LauncherConfig {
  natsUrl: string;
  /** TAILOR_NATS_USER/_PASSWORD, _TOKEN or _CREDS, for the launcher's own connection. */
  natsAuth: NatsAuth;
  /** The stack's database: TAILOR_DATABASE_URL, or `tailor_<prefix>` on the default server. */
  databaseUrl: string;
  busPrefix: string;
  /** TAILOR_DATA_DIR, absolute: the launcher's own NATS store and PostgreSQL cluster live here. */
  dataDir: string;
  /** What the services get as TAILOR_DATA_DIR: `dataDir`, or `dataDir/prefixes/<prefix>`. */
  stackDataDir: string;
  host: string;
  ports: Record<ServiceName, number>;
}

/**
 * What the launcher reads from the environment (the services read their own, from the same
 * variables). A prefix separates a whole stack: subjects and streams, on-disk data and, unless
 * TAILOR_DATABASE_URL says otherwise, the database.
 */
export function parseLauncherConfig(e: NodeJS.ProcessEnv, root: string): LauncherConfig {
  const shared = parseSharedConfig(e);
  const portSchema: Record<string, ReturnType<typeof env.int>> = Object.fromEntries(
    SERVICE_SPECS.map((s) => [s.portVar, env.int(s.port, 1, 65535)]),
  );
  const p = parseEnv(portSchema, e);
  const dataDir = isAbsolute(shared.dataDir) ? shared.dataDir : resolve(root, shared.dataDir);
  const prefix = shared.busPrefix;
  let databaseUrl = shared.databaseUrl;
  if (prefix && !e["TAILOR_DATABASE_URL"]) {
    const u = new URL(databaseUrl);
    u.pathname = `/tailor_${prefix.toLowerCase().replace(/-/g, "_")}`;
    databaseUrl = u.toString();
  }
  return {
    natsUrl: shared.natsUrl,
    natsAuth: shared.natsAuth,
    databaseUrl,
    busPrefix: prefix,
    dataDir,
    stackDataDir: prefix ? join(dataDir, "prefixes", prefix) : dataDir,
    host: shared.host,
    ports: Object.fromEntries(SERVICE_SPECS.map((s) => [s.name, p[s.portVar]])) as Record<
      ServiceName,
      number
    >,
  };
}
