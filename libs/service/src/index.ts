export { HealthStatus, OVERALL_HEALTH, registerHealth, type ServingStatus } from "./health.js";
export { runService, type Service } from "./lifecycle.js";
export { registerReflection } from "./reflection.js";
export { RpcServer, type RpcServerOptions } from "./server.js";
export { invalidArgument, notFound, requireField } from "./validate.js";
