export { createLogger, type Logger } from "./logger.js";
export { tracer, injectTraceContext, extractTraceContext, withSpan } from "./tracing.js";
