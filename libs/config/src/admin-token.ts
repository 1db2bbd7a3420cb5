import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Services whose admin RPCs take a bearer token, and the variable that sets each one's. */
export const ADMIN_TOKEN_VARIABLES = {
  "model-server": "TAILOR_MODEL_SERVER_ADMIN_TOKEN",
  "inference-gateway": "TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN",
} as const;

export type AdminTokenService = keyof typeof ADMIN_TOKEN_VARIABLES;

/** Where the local launcher keeps a service's admin token (mode 0600, never committed). */
export function adminTokenPath(
  dataDir: string,
  service: AdminTokenService = "model-server",
): string {
  return join(dataDir, `${service}-admin-token`);
}

/**
 * The admin token a local stack gives `service`: its variable (TAILOR_MODEL_SERVER_ADMIN_TOKEN,
 * TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN) when set, else the one kept under the data dir, else a
 * new random one written there. The CLI reads the same file, so `tailor models load` and
 * `tailor keys create` work against `npm run up` with no configuration.
 */
export function ensureAdminToken(
  dataDir: string,
  e: NodeJS.ProcessEnv = process.env,
  service: AdminTokenService = "model-server",
): string {
  const given = e[ADMIN_TOKEN_VARIABLES[service]];
  if (given) return given;
  const existing = readAdminToken(dataDir, {}, service);
  if (existing) return existing;
  const token = randomBytes(24).toString("base64url");
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(adminTokenPath(dataDir, service), `${token}\n`, { mode: 0o600 });
  return token;
}

/** The service's admin token variable, or the token file of a local stack, or undefined. */
export function readAdminToken(
  dataDir: string,
  e: NodeJS.ProcessEnv = process.env,
  service: AdminTokenService = "model-server",
): string | undefined {
  const given = e[ADMIN_TOKEN_VARIABLES[service]];
  if (given) return given;
  try {
    return readFileSync(adminTokenPath(dataDir, service), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
