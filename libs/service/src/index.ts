export { requireBearer } from "./bearer.js";
export {
  checkText,
  FieldError,
  ID_RULE,
  isFieldError,
  KEY_RULE,
  loneSurrogateAt,
  type TextRule,
  textProblem,
  toConnectError,
  utf8Bytes,
} from "./fields.js";
export { HealthStatus, OVERALL_HEALTH, registerHealth, type ServingStatus } from "./health.js";
export { runService, type Service } from "./lifecycle.js";
export { Lru } from "./lru.js";
export { registerReflection } from "./reflection.js";
export { type HealthSource, type NodeHandler, RpcServer, type RpcServerOptions } from "./server.js";
export { fromBinaryUtf8 } from "./utf8-guard.js";
export { invalidArgument, notFound, requireField } from "./validate.js";
