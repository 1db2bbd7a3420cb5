import { Code, ConnectError } from "@connectrpc/connect";
import { toConnectError } from "@tailor/service";

/** Runs a handler body, turning FieldError into INVALID_ARGUMENT. */
export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toConnectError(err);
  }
}

/** The tenant has no job with this id (another tenant's job is not found either). */
export function jobNotFound(id: string): ConnectError {
  return new ConnectError(`job ${id} not found`, Code.NotFound);
}
