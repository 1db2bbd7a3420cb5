import { setTimeout as sleep } from "node:timers/promises";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ModelService } from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";

export interface EmbedResult {
  vectors: Float32Array;
  dimensions: number;
  model: string;
  version: string;
}

/** Codes that mean "the model-server is not there right now", worth waiting for. */
const TRANSIENT = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.ResourceExhausted,
  Code.Aborted,
  Code.Unknown,
  Code.Internal,
]);

/** ModelService.Embed over gRPC, waiting out model-server outages instead of failing. */
export class EmbedderClient {
  private readonly client: Client<typeof ModelService>;

  constructor(
    baseUrl: string,
    private readonly model: string,
    private readonly logger: Logger,
    /** Exact version to call; empty lets the model-server pick (use only to resolve it once). */
    private readonly version = "",
  ) {
    this.client = createClient(ModelService, createGrpcTransport({ baseUrl }));
  }

  /** One call; throws ConnectError. */
  async embedOnce(texts: string[], signal?: AbortSignal): Promise<EmbedResult> {
    const res = await this.client.embed(
      { model: this.model, version: this.version, texts },
      { signal, timeoutMs: 60_000 },
    );
    // Vectors of another version than the one asked for must never be used as if they were.
    if (
      this.version &&
      (res.version !== this.version || (this.model && res.model !== this.model))
    ) {
      throw new ConnectError(
        `model-server answered with ${res.model}@${res.version} for ${this.model}@${this.version}`,
        Code.FailedPrecondition,
      );
    }
    const expected = texts.length * res.dimensions;
    const bytes = res.vectors;
    if (bytes.byteLength !== expected * 4) {
      throw new ConnectError(
        `model-server returned ${bytes.byteLength} bytes for ${texts.length}×${res.dimensions}`,
        Code.Internal,
      );
    }
    // Copy into an aligned buffer: the protobuf bytes may sit at any offset.
    const vectors = new Float32Array(expected);
    new Uint8Array(vectors.buffer).set(bytes);
    return { vectors, dimensions: res.dimensions, model: res.model, version: res.version };
  }

  /**
   * For a caller that is waiting (a query): retries UNAVAILABLE (a connection reset, a model-server
   * restarting) within `budgetMs`, then throws the last error. Other codes are thrown at once.
   */
  async embedWithin(texts: string[], budgetMs: number, signal?: AbortSignal): Promise<EmbedResult> {
    const deadline = Date.now() + budgetMs;
    for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
      try {
        return await this.embedOnce(texts, signal);
      } catch (err) {
        const ce = ConnectError.from(err);
        if (signal?.aborted || ce.code !== Code.Unavailable || Date.now() + wait > deadline)
          throw ce;
        this.logger.warn({ reason: ce.rawMessage, wait }, "model-server unavailable; retrying");
        await sleep(wait, undefined, { signal }).catch(() => {
          throw ce;
        });
      }
    }
  }

  /**
   * Embeds, retrying with capped exponential backoff while the model-server is unavailable.
   * `heartbeat` runs before each wait so callers can keep their messages from being redelivered.
   */
  async embed(
    texts: string[],
    o: { signal?: AbortSignal; heartbeat?: () => void } = {},
  ): Promise<EmbedResult> {
    let attempt = 0;
    while (true) {
      try {
        return await this.embedOnce(texts, o.signal);
      } catch (err) {
        const ce = ConnectError.from(err);
        if (o.signal?.aborted || !TRANSIENT.has(ce.code)) throw ce;
        attempt++;
        const delay = Math.min(10_000, 200 * 2 ** Math.min(attempt, 6));
        if (attempt === 1 || attempt % 10 === 0) {
          this.logger.warn(
            { code: Code[ce.code], attempt, delay, reason: ce.rawMessage },
            "model-server unavailable; retrying",
          );
        }
        o.heartbeat?.();
        // An abort ends the wait with an AbortError, which ConnectError.from makes CANCELED.
        await sleep(delay, undefined, { signal: o.signal }).catch((e: unknown) => {
          throw ConnectError.from(e);
        });
      }
    }
  }
}
