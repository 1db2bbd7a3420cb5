import { Code, ConnectError } from "@connectrpc/connect";
import { RETRIEVAL_MODEL } from "./spec.js";

/** The registry did not answer (or answered something unusable); `reason` is safe to show. */
export class RegistryUnavailableError extends Error {
  override readonly name = "RegistryUnavailableError";
  readonly code = "registry_unavailable";
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`registry is unavailable: ${reason}`, options);
  }
}

/** A registry answer that the thing asked about does not exist. */
export function isNotFound(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.NotFound;
}

/** NOT_FOUND for an alias the tenant does not have. */
export function noAlias(tenant: string, alias: string): ConnectError {
  return new ConnectError(
    `alias ${alias}: tenant ${tenant} has no ${RETRIEVAL_MODEL} version under alias ${alias}`,
    Code.NotFound,
  );
}

/** A rejected version is never served through an alias. */
export function rejectedAlias(alias: string, version: string): ConnectError {
  return new ConnectError(
    `alias ${alias}: points at rejected version ${version}, which is never served through an alias`,
    Code.FailedPrecondition,
  );
}

/** UNAVAILABLE for a named version or alias the registry could not resolve. */
export function unavailable(what: string, err: RegistryUnavailableError): ConnectError {
  return new ConnectError(`${what}: cannot be resolved, ${err.message}`, Code.Unavailable);
}
