export { type EvaluatorConfig, type GateDefaults, parseEvaluatorConfig } from "./config.js";
export type { ContextOverrides, EvaluatorContext } from "./context.js";
export { create, type EvaluatorServiceHandle } from "./service.js";
