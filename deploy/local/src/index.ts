export {
  askDemo,
  DEMO_QUESTIONS,
  DEMO_TENANT,
  type DemoQuestion,
  demoDocuments,
  publishDemo,
  waitSearchable,
} from "./demo-corpus.js";
export { type LauncherConfig, PORT_VARS, parseLauncherConfig } from "./env.js";
export { ensureNats, reachable, type Started, stopChild } from "./infra.js";
export {
  CISI_SOURCE,
  CISI_TENANT,
  cisiTrecFiles,
  HELDOUT_SET,
  importCisiEvalSets,
  ingestCisi,
  type LoopClients,
  loopClients,
  loopTurn,
  MODEL,
  TRAIN_SET,
  type TurnResult,
} from "./loop-turn.js";
export { prettyLogLine, say } from "./output.js";
export { PortInUseError, portFree } from "./ports.js";
export { ensurePostgres } from "./postgres.js";
export { SERVICES, type ServiceName, Stack, type StackOptions, servicePorts } from "./stack.js";
