import { Code, ConnectError } from "@connectrpc/connect";
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";

// What a caller of the gateway sees when a generator's backend fails: a code it can act on and
// a message naming the generator version, never the backend's own text (an upstream's error
// body may echo anything, including the prompt) and never a key.

/** The error of a call cancelled by the caller's signal (its reason when that is a ConnectError). */
export function cancelled(signal: AbortSignal | undefined): ConnectError | undefined {
  if (!signal?.aborted) return undefined;
  return ConnectError.from(signal.reason, Code.Canceled);
}

/** Throws {@link cancelled} when `signal` is aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  const e = cancelled(signal);
  if (e) throw e;
}

/** A model-server error of generator `version` running `model` (`name@version`). */
export function modelServerError(
  err: unknown,
  version: string,
  model: string,
  signal: AbortSignal | undefined,
): ConnectError {
  const aborted = cancelled(signal);
  if (aborted) return aborted;
  const e = ConnectError.from(err);
  const what = `generator ${version} (${model} on the model-server)`;
  switch (e.code) {
    case Code.NotFound:
      return new ConnectError(`${what}: the model is not loaded`, Code.FailedPrecondition);
    case Code.InvalidArgument:
      // The model-server names fields and limits only (prompt length, max_tokens vs context).
      return new ConnectError(`${what} refused the request: ${e.rawMessage}`, Code.InvalidArgument);
    case Code.ResourceExhausted:
    case Code.Unavailable:
      return new ConnectError(`${what} is busy or unreachable; retry later`, Code.Unavailable);
    case Code.Canceled:
    case Code.DeadlineExceeded:
      return new ConnectError(`${what}: ${Code[e.code]}`, e.code);
    default:
      return new ConnectError(`${what} failed`, Code.Internal, undefined, undefined, e);
  }
}

/** An OpenAI-compatible upstream's error, by HTTP status; `keyEnv` names the key's variable. */
export function upstreamError(
  err: unknown,
  version: string,
  model: string,
  keyEnv: string,
  signal: AbortSignal | undefined,
): ConnectError {
  const aborted = cancelled(signal);
  if (aborted) return aborted;
  if (err instanceof ConnectError) return err;
  const what = `generator ${version} (upstream model ${model})`;
  if (err instanceof APIUserAbortError)
    return new ConnectError(`${what}: cancelled`, Code.Canceled);
  if (err instanceof APIConnectionTimeoutError)
    return new ConnectError(`${what}: the upstream timed out`, Code.DeadlineExceeded);
  if (err instanceof APIConnectionError)
    return new ConnectError(`${what}: cannot reach the upstream`, Code.Unavailable);
  if (err instanceof APIError && typeof err.status === "number") {
    const s = err.status;
    if (s === 401 || s === 403) {
      const key = keyEnv ? `the key in ${keyEnv}` : "a request without a key";
      return new ConnectError(
        `${what}: the upstream refused ${key} (HTTP ${s})`,
        Code.FailedPrecondition,
      );
    }
    if (s === 404)
      return new ConnectError(
        `${what}: the upstream has no such model (HTTP 404)`,
        Code.FailedPrecondition,
      );
    if (s === 400 || s === 413 || s === 422)
      return new ConnectError(
        `${what}: the upstream refused the request (HTTP ${s})`,
        Code.InvalidArgument,
      );
    if (s === 408 || s === 504)
      return new ConnectError(`${what}: the upstream timed out (HTTP ${s})`, Code.DeadlineExceeded);
    return new ConnectError(
      `${what}: the upstream failed (HTTP ${s}); retry later`,
      Code.Unavailable,
    );
  }
  return new ConnectError(`${what} failed`, Code.Internal, undefined, undefined, err);
}
