import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Where the local launcher keeps the model-server's admin token (mode 0600, never committed). */
export function adminTokenPath(dataDir: string): string {
  return join(dataDir, "model-server-admin-token");
}

/**
 * The admin token a local stack uses: TAILOR_MODEL_SERVER_ADMIN_TOKEN when set, else the one
 * kept under the data dir, else a new random one written there. The CLI reads the same file, so
 * `tailor models load` works against `npm run up` with no configuration.
 */
export function ensureAdminToken(dataDir: string, e: NodeJS.ProcessEnv = process.env): string {
  const given = e["TAILOR_MODEL_SERVER_ADMIN_TOKEN"];
  if (given) return given;
  const existing = readAdminToken(dataDir, {});
  if (existing) return existing;
  const token = randomBytes(24).toString("base64url");
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(adminTokenPath(dataDir), `${token}\n`, { mode: 0o600 });
  return token;
}

/** TAILOR_MODEL_SERVER_ADMIN_TOKEN, or the token file of a local stack, or undefined. */
export function readAdminToken(
  dataDir: string,
  e: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const given = e["TAILOR_MODEL_SERVER_ADMIN_TOKEN"];
  if (given) return given;
  try {
    return readFileSync(adminTokenPath(dataDir), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
