import {
  type Context,
  context,
  propagation,
  type Span,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

/** The tracer every Tailor package uses; the SDK (if any) is registered by the process entry point. */
export const tracer = trace.getTracer("tailor");

/** Writes the active context as W3C `traceparent`/`tracestate` into a header carrier. */
export function injectTraceContext(
  carrier: Record<string, string>,
  ctx: Context = context.active(),
): void {
  propagation.inject(ctx, carrier);
}

/** Reads a W3C trace context from a header carrier. */
export function extractTraceContext(carrier: Record<string, string>): Context {
  return propagation.extract(context.active(), carrier);
}

/** Runs fn inside a span that records errors and always ends. */
export async function withSpan<T>(
  name: string,
  fn: (span: Span) => Promise<T>,
  parent?: Context,
): Promise<T> {
  return tracer.startActiveSpan(name, {}, parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}
