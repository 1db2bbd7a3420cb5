/** No such model, or no such version of it. */
export class ArtifactNotFoundError extends Error {
  override readonly name = "ArtifactNotFoundError";
  readonly code = "artifact_not_found";
}

/** A published folder does not match its manifest (missing file, wrong checksum, bad manifest). */
export class ArtifactIntegrityError extends Error {
  override readonly name = "ArtifactIntegrityError";
  readonly code = "artifact_integrity";
  constructor(
    message: string,
    /** The offending file, relative to the folder. */
    readonly file: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Publishing would overwrite a version; published versions are immutable. */
export class ArtifactExistsError extends Error {
  override readonly name = "ArtifactExistsError";
  readonly code = "artifact_exists";
}
