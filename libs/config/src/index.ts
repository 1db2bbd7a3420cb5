export { z } from "zod";
export { ConfigError, type EnvSchema, type EnvValues, env, parseEnv } from "./env.js";
export { defaultPorts, parseSharedConfig, type SharedConfig, sharedEnvSchema } from "./shared.js";
