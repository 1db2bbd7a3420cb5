import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "@tailor/telemetry";

/** Codes a downstream service answers that say something about the request itself. */
const PASSED = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.FailedPrecondition,
  Code.PermissionDenied,
  Code.ResourceExhausted,
  Code.Canceled,
  Code.DeadlineExceeded,
]);

/**
 * The client's error for a failed call to `service`: request problems keep their code and say
 * where they came from; anything else is UNAVAILABLE (its details stay in the log).
 */
export function downstreamError(service: string, err: unknown, logger: Logger): ConnectError {
  const ce = ConnectError.from(err);
  if (PASSED.has(ce.code)) return new ConnectError(`${service}: ${ce.rawMessage}`, ce.code);
  logger.warn({ service, code: Code[ce.code] }, "downstream call failed");
  return new ConnectError(`${service} is unavailable`, Code.Unavailable);
}

/** Runs a downstream call, converting its failure. */
export async function call<T>(service: string, logger: Logger, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw downstreamError(service, err, logger);
  }
}
