import { Code, ConnectError } from "@connectrpc/connect";
import { EXIT } from "./usage.js";

export { EXIT } from "./usage.js";

const UP_HINT = "is the stack up? npm run up";

/** The command line itself is wrong: exit 2, with a pointer to the command's help. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly code = "usage";
}

/** The operation failed for a reason already phrased for a person: exit 1. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly code = "failed";
}

/** A call to one of the stack's services failed; names the service so the message can. */
export class ServiceCallError extends Error {
  override readonly name = "ServiceCallError";
  readonly code = "service_call";
  constructor(
    readonly service: string,
    readonly url: string,
    readonly timeoutMs: number,
    override readonly cause: ConnectError,
  ) {
    super(`${service}: ${cause.rawMessage}`, { cause });
  }
}

/** Ctrl-C while waiting: the work goes on where it runs; the message says how to follow or stop it. */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  readonly code = "interrupted";
}

/** NATS did not let us in. */
export class BusConnectError extends Error {
  override readonly name = "BusConnectError";
  readonly code = "bus_connect";
  constructor(
    readonly url: string,
    override readonly cause: unknown,
  ) {
    super(`NATS at ${url}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** `Code.InvalidArgument` → `INVALID_ARGUMENT`, the name gRPC tools print. */
export function codeName(code: Code): string {
  const name = Code[code] ?? `CODE_${code}`;
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

function hostOf(url: string): string {
  return url.replace(/^[a-z]+:\/\//, "").replace(/\/$/, "");
}

const NOT_ANSWERING = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EAI_AGAIN/;

/** One line (or a few for listings) a person can act on, and the exit code. */
export function describeError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof UsageError) return { message: err.message, exitCode: EXIT.usage };
  if (err instanceof CliError) return { message: err.message, exitCode: EXIT.failed };
  if (err instanceof InterruptedError) return { message: err.message, exitCode: EXIT.interrupted };
  if (err instanceof ServiceCallError) {
    return { message: describeCall(err), exitCode: EXIT.failed };
  }
  if (err instanceof BusConnectError) {
    const c = err.cause as { name?: string; message?: string; code?: string } | undefined;
    const raw = `${c?.name ?? ""} ${c?.code ?? ""} ${c?.message ?? ""}`;
    const why = /refused/i.test(raw)
      ? "CONNECTION_REFUSED"
      : /timeout/i.test(raw)
        ? "TIMEOUT"
        : /ENOTFOUND|EAI_AGAIN/.test(raw)
          ? "HOST_NOT_FOUND"
          : undefined;
    return {
      message: why
        ? `NATS at ${err.url} is not answering (${why}) — ${UP_HINT} (or set TAILOR_NATS_URL)`
        : `NATS at ${err.url}: ${c?.message ?? String(err.cause)}`,
      exitCode: EXIT.failed,
    };
  }
  if (err instanceof ConnectError) {
    return { message: `${err.rawMessage} (${codeName(err.code)})`, exitCode: EXIT.failed };
  }
  const e = err as { name?: string; message?: string; code?: string; path?: string };
  if (e?.name === "ConfigError") return { message: String(e.message), exitCode: EXIT.usage };
  if (typeof e?.code === "string" && e.path && /^E[A-Z]+$/.test(e.code))
    return { message: fsMessage(e.code, e.path, e.message ?? ""), exitCode: EXIT.failed };
  return { message: e?.message ?? String(err), exitCode: EXIT.failed };
}

/** `model-server` → `TAILOR_MODEL_SERVER_URL`, the variable that moves it. */
export function urlVariable(service: string): string {
  return `TAILOR_${service.toUpperCase().replace(/-/g, "_")}_URL`;
}

function describeCall(err: ServiceCallError): string {
  const where = `${err.service} at ${hostOf(err.url)}`;
  const upHint = `${UP_HINT} (or set ${urlVariable(err.service)})`;
  const raw = err.cause.rawMessage;
  const name = codeName(err.cause.code);
  switch (err.cause.code) {
    case Code.Unavailable:
      return NOT_ANSWERING.test(raw)
        ? `${where} is not answering (${name}) — ${upHint}`
        : `${where}: ${raw} (${name}) — try again in a moment`;
    case Code.DeadlineExceeded:
      return `${where} did not answer within ${err.timeoutMs / 1000} s (${name}) — ${upHint}; a slow call may need a larger --timeout`;
    case Code.Unimplemented:
      return `${where} does not offer this call (${name}) — is it an older version? restart it with npm run up`;
    case Code.InvalidArgument:
      return `${err.service} refused the request: ${raw} (${name})`;
    case Code.NotFound:
      return `${raw} (${name})`;
    case Code.AlreadyExists:
    case Code.FailedPrecondition:
      return `${err.service}: ${raw} (${name})`;
    case Code.ResourceExhausted:
      return `${err.service} refused the request: ${raw} (${name})`;
    default:
      return `${where}: ${raw} (${name})`;
  }
}

function fsMessage(code: string, path: string, message: string): string {
  switch (code) {
    case "ENOENT":
      return `${path}: no such file or folder`;
    case "EACCES":
    case "EPERM":
      return `${path}: permission denied`;
    case "EISDIR":
      return `${path}: is a folder, expected a file`;
    case "ENOTDIR":
      return `${path}: is not a folder`;
    default:
      return message;
  }
}
