export {
  ensureNats,
  ensurePostgres,
  ensureRealPostgres,
  reachable,
  type Started,
  stopChild,
} from "./infra.js";
export { prettyLogLine, say } from "./output.js";
export { SERVICES, type ServiceName, Stack, type StackOptions, servicePorts } from "./stack.js";
