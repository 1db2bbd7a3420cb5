export { z } from "zod";
export { adminTokenPath, ensureAdminToken, readAdminToken } from "./admin-token.js";
export { ConfigError, type EnvSchema, type EnvValues, env, parseEnv } from "./env.js";
export { Secret } from "./secret.js";
export {
  defaultPorts,
  type NatsAuth,
  parseNatsAuth,
  parseSharedConfig,
  type SharedConfig,
  sharedEnvSchema,
} from "./shared.js";
