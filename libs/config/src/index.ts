export { z } from "zod";
export {
  ADMIN_TOKEN_VARIABLES,
  type AdminTokenService,
  adminTokenPath,
  ensureAdminToken,
  readAdminToken,
} from "./admin-token.js";
export { ConfigError, type EnvSchema, type EnvValues, env, parseEnv } from "./env.js";
export { Secret } from "./secret.js";
export {
  defaultPorts,
  SERVICE_DECLARATIONS,
  SERVICE_SPECS,
  type ServiceDeclaration,
  type ServiceName,
  type ServiceSpec,
  serviceEnvPrefix,
  serviceSpec,
  startOrder,
  stopOrder,
} from "./services.js";
export {
  type NatsAuth,
  parseNatsAuth,
  parseSharedConfig,
  type SharedConfig,
  sharedEnvSchema,
} from "./shared.js";
