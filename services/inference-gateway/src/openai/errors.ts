import { Code, ConnectError } from "@connectrpc/connect";
import { isFieldError } from "@tailor/service";

/** OpenAI's error body: `{"error": {message, type, param, code}}`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** A refusal of the OpenAI surface: an HTTP status and OpenAI's error fields. */
export class OpenAiError extends Error {
  override readonly name = "OpenAiError";
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Seconds, for 429 (`retry-after`). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  body(): OpenAiErrorBody {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

/** 400 naming the request field (`messages[2].content`) the way the client wrote it. */
export function invalidRequest(param: string | null, problem: string, code?: string): OpenAiError {
  const message = param ? `${param}: ${problem}` : problem;
  return new OpenAiError(400, message, "invalid_request_error", param, code ?? null);
}

/**
 * Connect codes as HTTP statuses and OpenAI error types: the one place they are mapped.
 * The statuses are Connect's own (connectrpc.com/docs/protocol#error-codes).
 */
const BY_CODE: Record<Code, { status: number; type: string; code: string | null }> = {
  [Code.Canceled]: { status: 499, type: "invalid_request_error", code: "canceled" },
  [Code.Unknown]: { status: 500, type: "server_error", code: null },
  [Code.InvalidArgument]: { status: 400, type: "invalid_request_error", code: null },
  [Code.DeadlineExceeded]: { status: 504, type: "server_error", code: "timeout" },
  [Code.NotFound]: { status: 404, type: "not_found_error", code: "not_found" },
  [Code.AlreadyExists]: { status: 409, type: "invalid_request_error", code: null },
  [Code.PermissionDenied]: { status: 403, type: "permission_error", code: null },
  [Code.ResourceExhausted]: { status: 429, type: "rate_limit_error", code: "rate_limit_exceeded" },
  [Code.FailedPrecondition]: { status: 400, type: "invalid_request_error", code: null },
  [Code.Aborted]: { status: 409, type: "server_error", code: null },
  [Code.OutOfRange]: { status: 400, type: "invalid_request_error", code: null },
  [Code.Unimplemented]: { status: 501, type: "server_error", code: null },
  [Code.Internal]: { status: 500, type: "server_error", code: null },
  [Code.Unavailable]: { status: 503, type: "server_error", code: "unavailable" },
  [Code.DataLoss]: { status: 500, type: "server_error", code: null },
  [Code.Unauthenticated]: { status: 401, type: "authentication_error", code: "invalid_api_key" },
};

/** A field name at the start of a Connect message (`messages[1].content: …`). */
const FIELD_PREFIX = /^([A-Za-z_][\w.[\]]{0,127}): /;

/** Fields of the gateway's RPC requests as this surface's requests name them. */
const OPENAI_FIELD: Record<string, string> = {
  "route.alias": "model",
  "route.version": "model",
  "route.routing_key": "user",
  k: "tailor.k",
  sources: "tailor.sources",
  metadata: "tailor.metadata",
};

/** The field a Connect message starts with, renamed to the OpenAI request's; and the message. */
function fieldOf(message: string): { param: string | null; message: string } {
  const rpcField = FIELD_PREFIX.exec(message)?.[1];
  if (rpcField === undefined) return { param: null, message };
  const base = /^[a-z_]+(?:\.[a-z_]+)?/.exec(rpcField)?.[0] ?? rpcField;
  const renamed = Object.hasOwn(OPENAI_FIELD, base) ? OPENAI_FIELD[base] : undefined;
  if (renamed === undefined) return { param: rpcField, message };
  const param = renamed + rpcField.slice(base.length);
  return { param, message: param + message.slice(rpcField.length) };
}

/**
 * Any error as the OpenAI error to send. ConnectErrors keep their message for the codes a
 * caller can act on; server-side failures say only what kind they are, never internals.
 * `routeNotFound`: a NOT_FOUND is the route the request's `model` named (404 model_not_found).
 */
export function toOpenAiError(err: unknown, o: { routeNotFound?: boolean } = {}): OpenAiError {
  if (err instanceof OpenAiError) return err;
  if (isFieldError(err)) return invalidRequest(err.field, err.reason);
  if (!(err instanceof ConnectError)) {
    return new OpenAiError(500, "internal error", "server_error");
  }
  const m = BY_CODE[err.code] ?? BY_CODE[Code.Unknown];
  const serverSide = m.status >= 500 && err.code !== Code.Unavailable;
  const message = serverSide ? "internal error" : err.rawMessage;
  if (err.code === Code.NotFound && o.routeNotFound) {
    return new OpenAiError(404, message, m.type, "model", "model_not_found");
  }
  const named = m.status === 400 || m.status === 403 ? fieldOf(message) : { param: null, message };
  return new OpenAiError(
    m.status,
    named.message,
    m.type,
    named.param,
    m.code,
    err.code === Code.ResourceExhausted ? retryAfterSeconds(err) : undefined,
  );
}

/**
 * Seconds until a refused request may be retried: the limiter's `retry-after` (seconds) or
 * `retry-after-ms` metadata, else one second. At least one, whole seconds (HTTP's form).
 */
function retryAfterSeconds(err: ConnectError): number {
  const seconds = Number(err.metadata.get("retry-after"));
  if (Number.isFinite(seconds) && seconds > 0) return Math.max(1, Math.ceil(seconds));
  const ms = Number(err.metadata.get("retry-after-ms"));
  if (Number.isFinite(ms) && ms > 0) return Math.max(1, Math.ceil(ms / 1000));
  return 1;
}
