/**
 * A job that can never succeed as submitted (bad field, bad dataset line, unknown base model):
 * the worker publishes `failed` with this message and acks, instead of retrying.
 */
export class LoraJobError extends Error {
  override readonly name = "LoraJobError";
  readonly code = "lora_job";
  constructor(
    /** What is wrong, the way the submitter wrote it: `rank`, `dataset line 3: completion`. */
    readonly field: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${reason}`, options);
  }
}

export function isLoraJobError(err: unknown): err is LoraJobError {
  return err instanceof LoraJobError;
}

/** watchLoraJob saw no terminal status (succeeded or failed) in time. */
export class LoraWatchTimeoutError extends Error {
  override readonly name = "LoraWatchTimeoutError";
  readonly code = "lora_watch_timeout";
  constructor(
    readonly tenant: string,
    readonly job: string,
    readonly timeoutMs: number,
    /** The last state seen, "" when none. */
    readonly lastState: string,
  ) {
    super(
      `lora job ${tenant}/${job}: no terminal status within ${timeoutMs} ms (last state: ${lastState || "none"})`,
    );
  }
}
