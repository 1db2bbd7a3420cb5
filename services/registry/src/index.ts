export { parseRegistryConfig, type RegistryConfig } from "./config.js";
export { create, type RegistryServiceHandle } from "./service.js";
