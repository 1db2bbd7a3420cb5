/** The message can never be processed (bad encoding, missing field…): dead-letter it at once. */
export class PoisonMessageError extends Error {
  override readonly name = "PoisonMessageError";
  readonly code = "poison_message";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A dependency is down or busy: retry later with backoff, dead-letter after max_deliver. */
export class TransientError extends Error {
  override readonly name = "TransientError";
  readonly code = "transient";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isPoisonMessageError(err: unknown): err is PoisonMessageError {
  return err instanceof PoisonMessageError;
}
