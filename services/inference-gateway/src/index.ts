export { type GatewayConfig, parseGatewayConfig } from "./config.js";
export { create, type GatewayServiceHandle } from "./service.js";
