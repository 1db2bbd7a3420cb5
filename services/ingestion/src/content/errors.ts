/** Raised when a document's content type has no extractor. */
export class UnsupportedContentTypeError extends Error {
  override readonly name = "UnsupportedContentTypeError";
  readonly code = "unsupported_content_type";
  readonly contentType: string;

  constructor(contentType: string, options?: ErrorOptions) {
    super(`unsupported content type: ${JSON.stringify(contentType)}`, options);
    this.contentType = contentType;
  }
}

/** Raised when a body does not parse as its declared content type. */
export class InvalidContentError extends Error {
  override readonly name = "InvalidContentError";
  readonly code = "invalid_content";
  readonly contentType: string;

  constructor(contentType: string, message: string, options?: ErrorOptions) {
    super(`invalid ${contentType} content: ${message}`, options);
    this.contentType = contentType;
  }
}

/** Raised when chunking options are out of range. */
export class InvalidChunkOptionsError extends Error {
  override readonly name = "InvalidChunkOptionsError";
  readonly code = "invalid_chunk_options";
}

export function isUnsupportedContentTypeError(err: unknown): err is UnsupportedContentTypeError {
  return err instanceof UnsupportedContentTypeError;
}

export function isInvalidContentError(err: unknown): err is InvalidContentError {
  return err instanceof InvalidContentError;
}
