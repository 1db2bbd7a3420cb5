import { Code, ConnectError } from "@connectrpc/connect";
import { isFieldError } from "@tailor/service";

/** The RPC error for a validation error; anything else passes through (INTERNAL). */
function toRpcError(err: unknown): unknown {
  if (isFieldError(err)) return new ConnectError(err.message, Code.InvalidArgument);
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
