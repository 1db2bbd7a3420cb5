import { Code, ConnectError } from "@connectrpc/connect";
import { isFieldError } from "@tailor/service";
import type { Logger } from "@tailor/telemetry";

/**
 * The client's error for a failure inside a streaming handler (the server's error boundary sees
 * only unary ones): ConnectErrors pass, field errors are INVALID_ARGUMENT, anything else is an
 * INTERNAL without internals (logged without the request).
 */
export function streamError(err: unknown, logger: Logger, procedure: string): ConnectError {
  if (err instanceof ConnectError) return err;
  if (isFieldError(err)) return new ConnectError(err.message, Code.InvalidArgument);
  logger.error({ err, procedure }, "rpc failed");
  return new ConnectError("internal error", Code.Internal);
}
