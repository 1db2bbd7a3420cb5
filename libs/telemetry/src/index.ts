export { createLogger, type Logger } from "./logger.js";
export { extractTraceContext, injectTraceContext, tracer, withSpan } from "./tracing.js";
