import { Code, ConnectError } from "@connectrpc/connect";
import { ArtifactIntegrityError, ArtifactNotFoundError } from "@tailor/artifacts";
import { isModelLoadError } from "@tailor/models";
import { invalidArgument } from "@tailor/service";
import { ModelLoadFailedError } from "../registry.js";
import {
  BatcherClosedError,
  CancelledError,
  DeadlineExceededError,
  QueueFullError,
} from "../runtime/batcher.js";
import { ModelKindError } from "../runtime/encoder.js";

/**
 * Longest text accepted, in UTF-16 code units. Shorter texts that still exceed the model's token
 * limit are truncated by the tokenizer (the model sees only its first max-length tokens), which
 * the token counts of Embed and Tokenize show.
 */
export const MAX_TEXT_CHARS = 1024 * 1024;

/** Converts what a batcher submit rejects with into the status a client should see. */
export function batcherError(err: unknown, model: string): unknown {
  if (err instanceof QueueFullError)
    return new ConnectError(`${model}: queue is full; retry with backoff`, Code.ResourceExhausted);
  if (err instanceof DeadlineExceededError)
    return new ConnectError(`${model}: deadline passed while queued`, Code.DeadlineExceeded);
  if (err instanceof CancelledError) return new ConnectError("cancelled", Code.Canceled);
  if (err instanceof BatcherClosedError)
    return new ConnectError(`${model} is unloading`, Code.Unavailable);
  if (err instanceof ModelKindError) return new ConnectError(err.message, Code.FailedPrecondition);
  return err;
}

/**
 * Converts a LoadModel failure. An artifact that exists but cannot be loaded (a missing
 * tokenizer.json, a checksum mismatch, an unusable graph) is FAILED_PRECONDITION: the request
 * is well-formed, the stored model is not, and retrying will not help until it is republished.
 */
export function loadError(err: unknown): unknown {
  if (err instanceof ConnectError) return err;
  if (err instanceof ArtifactNotFoundError) return new ConnectError(err.message, Code.NotFound);
  if (err instanceof ArtifactIntegrityError || err instanceof ModelLoadFailedError)
    return new ConnectError(err.message, Code.FailedPrecondition);
  if (isModelLoadError(err)) return new ConnectError(err.message, Code.FailedPrecondition);
  return err;
}

/** Checks a list of texts: non-empty, at most `max` items, none absurdly long. */
export function checkTexts(field: string, texts: readonly string[], max: number): void {
  if (texts.length === 0) throw invalidArgument(field, "must not be empty");
  if (texts.length > max)
    throw invalidArgument(field, `at most ${max} per call, got ${texts.length}`);
  texts.forEach((t, i) => {
    if (t.length > MAX_TEXT_CHARS)
      throw invalidArgument(
        `${field}[${i}]`,
        `longer than ${MAX_TEXT_CHARS} characters; split it (tokens past the model's limit are truncated anyway)`,
      );
  });
}
