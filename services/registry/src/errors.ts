import { Code, ConnectError } from "@connectrpc/connect";
import { isFieldError } from "@tailor/service";

/** A tenant's model, version or alias that does not exist (for this tenant). */
export class RegistryNotFoundError extends Error {
  override readonly name = "RegistryNotFoundError";
  readonly code = "not_found";
  constructor(what: string) {
    super(`${what} not found`);
  }
}

/** The request is well-formed but the registry's state forbids it (rejected version, no history). */
export class RegistryPreconditionError extends Error {
  override readonly name = "RegistryPreconditionError";
  readonly code = "failed_precondition";
}

/** The RPC error for a store or validation error; anything else passes through (INTERNAL). */
function toRpcError(err: unknown): unknown {
  if (isFieldError(err)) return new ConnectError(err.message, Code.InvalidArgument);
  if (err instanceof RegistryNotFoundError) return new ConnectError(err.message, Code.NotFound);
  if (err instanceof RegistryPreconditionError)
    return new ConnectError(err.message, Code.FailedPrecondition);
  return err;
}

/** Runs a handler body, converting its errors at the RPC boundary. */
export async function rpc<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toRpcError(err);
  }
}
