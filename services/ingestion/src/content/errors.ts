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
  override readonly name: string = "InvalidContentError";
  readonly code: string = "invalid_content";
  readonly contentType: string;

  constructor(contentType: string, message: string, options?: ErrorOptions) {
    super(
      contentType ? `invalid ${contentType} content: ${message}` : `invalid content: ${message}`,
      options,
    );
    this.contentType = contentType;
  }
}

/**
 * Raised as soon as extraction or chunking would produce more than a configured limit allows
 * (text bytes, chunks, nesting depth, key length). It is invalid content: retrying the same
 * document can never succeed, so callers dead-letter it or answer InvalidArgument.
 */
export class ContentLimitError extends InvalidContentError {
  override readonly name = "ContentLimitError";
  override readonly code = "content_limit";
  /** Name of the limit in ContentLimits, e.g. "maxChunks". */
  readonly limit: string;
  /** The configured value that was passed. */
  readonly value: number;

  constructor(contentType: string, limit: string, value: number, message: string) {
    super(contentType, `${message} (limit ${limit}=${value})`);
    this.limit = limit;
    this.value = value;
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

/** True for any content that can never be extracted, ContentLimitError included. */
export function isInvalidContentError(err: unknown): err is InvalidContentError {
  return err instanceof InvalidContentError;
}
