import { Code, ConnectError } from "@connectrpc/connect";

/** INVALID_ARGUMENT naming the offending field. */
export function invalidArgument(field: string, problem: string): ConnectError {
  return new ConnectError(`${field}: ${problem}`, Code.InvalidArgument);
}

export function notFound(what: string): ConnectError {
  return new ConnectError(`${what} not found`, Code.NotFound);
}

/** Throws INVALID_ARGUMENT when a required string field is empty. */
export function requireField(field: string, value: string): string {
  if (!value?.trim()) throw invalidArgument(field, "is required");
  return value;
}
