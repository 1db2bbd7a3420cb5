export { createLogger, type Logger } from "./logger.js";
export {
  redactUrl,
  safeJsonError,
  scrubText,
  serializeError,
} from "./redact.js";
export { extractTraceContext, injectTraceContext, tracer, withSpan } from "./tracing.js";
