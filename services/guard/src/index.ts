export { type GuardConfig, parseGuardConfig } from "./config.js";
export { create, type GuardServiceHandle } from "./service.js";
