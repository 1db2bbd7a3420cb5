/**
 * One document cannot be stored as it is (the database refused its data, or its events would
 * not fit a message). Retrying never helps: the bus path dead-letters it, the RPC path answers
 * INVALID_ARGUMENT. The message never quotes the document's content.
 */
export class DocumentRejectedError extends Error {
  override readonly name = "DocumentRejectedError";
  readonly code = "document_rejected";
  constructor(
    /** The offending field when known (`text`, `metadata`…), else "" for the document as a whole. */
    readonly field: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(field ? `${field}: ${reason}` : reason, options);
  }
}

export function isDocumentRejectedError(err: unknown): err is DocumentRejectedError {
  return err instanceof DocumentRejectedError;
}

/**
 * SQLSTATEs that say the data of one row is at fault, so the same statement will fail again:
 * class 22 (data exception: bad encoding, NUL, out of range, invalid JSON), 23502 and 23514
 * (a value breaks a NOT NULL or CHECK constraint) and 54000 (a key too large for its index).
 * Unique and foreign-key violations (23505, 23503) can come from concurrent writers and are
 * left to the retry path.
 */
export function isItemDataError(err: unknown): boolean {
  const code = sqlState(err);
  if (!code) return false;
  return code.startsWith("22") || code === "23502" || code === "23514" || code === "54000";
}

/** The PostgreSQL error code of a pg error, or undefined. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

const DATA_ERRORS: Record<string, string> = {
  "22021": "holds a character the database encoding cannot store (e.g. NUL)",
  "22P02": "holds a value of invalid syntax (e.g. an unpaired surrogate in JSON)",
  "22P05": "holds a character the database cannot represent",
  "22001": "holds a value too long for its column",
  "22003": "holds a number out of range",
  "54000": "holds a value too large for an index",
};

/**
 * A DocumentRejectedError for a database data error. Only the SQLSTATE and a fixed description
 * go into it: PostgreSQL's messages and details may quote the offending value.
 */
export function rejectedByDatabase(err: unknown): DocumentRejectedError {
  const code = sqlState(err) ?? "unknown";
  const what = DATA_ERRORS[code] ?? "holds data the database refused";
  return new DocumentRejectedError("", `the document ${what} (SQLSTATE ${code})`, { cause: err });
}
