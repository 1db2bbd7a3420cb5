import type { Detokenizer } from "./detokenizer.js";
import { type GenerationParams, TokenSampler } from "./sampling.js";
import { StopSequenceFilter } from "./stop-sequences.js";

/** Why a generation ended. */
export type FinishReason = "stop" | "length" | "stop_sequence";

/** Token counts of one generation. */
export interface GenerationUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** One item of a generation stream: text as it becomes final, then exactly one finish. */
export type GenerationEvent =
  | { readonly delta: string; readonly tokenIds: number[] }
  | { readonly finish: FinishReason; readonly usage: GenerationUsage };

/** The model side of batched decoding; `C` is one sequence's KV cache. */
export interface DecoderBackend<C> {
  readonly vocabSize: number;
  readonly maxPositions: number;
  /** Runs a whole prompt from an empty cache; returns the last position's logits. */
  prefill(ids: readonly number[]): Promise<{ logits: Float32Array; cache: C }>;
  /** Feeds one token per sequence in one model call, appending to each cache; [n, vocab] logits. */
  decode(batch: readonly { readonly token: number; readonly cache: C }[]): Promise<Float32Array>;
  cacheLength(cache: C): number;
}

/** Too many streams active and queued; the RPC layer maps it to ResourceExhausted. */
export class GenerationQueueFullError extends Error {
  override readonly name = "GenerationQueueFullError";
  readonly code = "queue_full";
}

/** The prompt leaves no room to generate within the model's positions. */
export class PromptTooLongError extends Error {
  override readonly name = "PromptTooLongError";
  readonly code = "invalid_argument";
}

/** The model was closed before or while the stream ran. */
export class GenerationClosedError extends Error {
  override readonly name = "GenerationClosedError";
  readonly code = "closed";
}

/** Limits of a {@link DecodeScheduler}. */
export interface DecodeSchedulerOptions {
  readonly maxActiveStreams: number;
  readonly maxQueuedStreams: number;
  readonly eosTokenIds: ReadonlySet<number>;
  /** A fresh detokenizer per stream. */
  readonly detokenizer: () => Detokenizer;
}

interface Stream<C> {
  readonly promptIds: readonly number[];
  readonly params: GenerationParams;
  readonly sampler: TokenSampler;
  readonly detok: Detokenizer;
  readonly stops: StopSequenceFilter;
  readonly channel: EventChannel<GenerationEvent>;
  cache: C | null;
  nextToken: number;
  generated: number;
  unsentIds: number[];
  finished: boolean;
}

/**
 * Continuous batching: one loop owns the model. Each turn it drops finished and cancelled streams,
 * prefills queued ones into free slots, then feeds every active stream's last token in one call.
 */
export class DecodeScheduler<C> {
  private active: Stream<C>[] = [];
  private readonly waiting: Stream<C>[] = [];
  private running: Promise<void> | null = null;
  /** The stream whose prompt is in the model now; it already holds a slot. */
  private prefilling: Stream<C> | null = null;
  private closed = false;

  constructor(
    private readonly backend: DecoderBackend<C>,
    private readonly opts: DecodeSchedulerOptions,
  ) {}

  /** Streams holding a batch slot. */
  get activeStreams(): number {
    const prefilling = this.prefilling && !this.prefilling.finished ? 1 : 0;
    return this.active.filter((s) => !s.finished).length + prefilling;
  }

  /** Streams waiting for a slot; those about to take a free one (prefill pending) do not count. */
  get queueDepth(): number {
    return Math.max(0, this.waiting.length - this.freeSlots());
  }

  private freeSlots(): number {
    return Math.max(0, this.opts.maxActiveStreams - this.activeStreams);
  }

  /**
   * Queues a stream now (so a full queue fails before any event) and returns its events. The
   * caller must iterate it or abort `signal`: a stream nobody reads still holds its slot.
   */
  submit(
    promptIds: readonly number[],
    params: GenerationParams,
    seed: number,
    signal?: AbortSignal,
  ): AsyncIterable<GenerationEvent> {
    if (this.closed) throw new GenerationClosedError("model is closed");
    signal?.throwIfAborted();
    if (promptIds.length === 0) throw new PromptTooLongError("prompt has no tokens");
    if (promptIds.length >= this.backend.maxPositions) {
      throw new PromptTooLongError(
        `prompt has ${promptIds.length} tokens; the model takes ${this.backend.maxPositions} positions`,
      );
    }
    if (this.queueDepth >= this.opts.maxQueuedStreams) {
      throw new GenerationQueueFullError(
        `${this.activeStreams} streams active and ${this.queueDepth} queued`,
      );
    }
    const sampler = new TokenSampler(params, this.backend.vocabSize, seed);
    sampler.observe(promptIds);
    const stream: Stream<C> = {
      promptIds,
      params,
      sampler,
      detok: this.opts.detokenizer(),
      stops: new StopSequenceFilter(params.stop),
      channel: new EventChannel(),
      cache: null,
      nextToken: -1,
      generated: 0,
      unsentIds: [],
      finished: false,
    };
    this.waiting.push(stream);
    const onAbort = () => this.cancel(stream, signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    this.kick();
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          yield* stream.channel;
        } finally {
          signal?.removeEventListener("abort", onAbort);
          // A consumer that stops reading early gives its slot back.
          if (!stream.finished) self.cancel(stream, undefined);
        }
      },
    };
  }

  /** Ends every stream with {@link GenerationClosedError} and waits for the loop to stop. */
  async close(): Promise<void> {
    this.closed = true;
    const err = new GenerationClosedError("model closed");
    for (const s of [...this.waiting, ...this.active]) this.end(s, err);
    this.waiting.length = 0;
    await this.running;
  }

  private cancel(stream: Stream<C>, reason: unknown): void {
    if (stream.finished) return;
    const at = this.waiting.indexOf(stream);
    if (at !== -1) this.waiting.splice(at, 1);
    this.end(stream, reason ?? abortError());
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.loop().finally(() => {
      this.running = null;
      // Work submitted in the turn the loop decided to stop would otherwise wait forever.
      if (!this.closed && this.waiting.length > 0) this.kick();
    });
  }

  private async loop(): Promise<void> {
    const vocab = this.backend.vocabSize;
    for (;;) {
      this.active = this.active.filter((s) => !s.finished);
      while (this.active.length < this.opts.maxActiveStreams && this.waiting.length > 0) {
        const s = this.waiting.shift()!;
        if (s.finished) continue;
        this.prefilling = s;
        try {
          const { logits, cache } = await this.backend.prefill(s.promptIds);
          this.prefilling = null;
          if (s.finished) continue;
          s.cache = cache;
          this.active.push(s);
          this.onLogits(s, logits);
        } catch (err) {
          this.prefilling = null;
          this.end(s, err);
        }
      }
      const batch = this.active.filter((s) => !s.finished);
      if (batch.length === 0) {
        if (this.waiting.length === 0 || this.closed) return;
        continue;
      }
      try {
        const logits = await this.backend.decode(
          batch.map((s) => ({ token: s.nextToken, cache: s.cache! })),
        );
        batch.forEach((s, i) => {
          if (!s.finished) this.onLogits(s, logits.subarray(i * vocab, (i + 1) * vocab));
        });
      } catch (err) {
        for (const s of batch) this.end(s, err);
      }
    }
  }

  private onLogits(s: Stream<C>, row: Float32Array): void {
    const token = s.sampler.sample(row);
    s.sampler.observe([token]);
    s.generated++;
    s.unsentIds.push(token);
    if (this.opts.eosTokenIds.has(token)) {
      this.finish(s, "stop");
      return;
    }
    const text = s.detok.push(token);
    if (text.length > 0) {
      const out = s.stops.push(text);
      this.send(s, out.text);
      if (out.stopped) {
        this.finish(s, "stop_sequence");
        return;
      }
    }
    const full = this.backend.cacheLength(s.cache!) >= this.backend.maxPositions;
    if (s.generated >= s.params.maxTokens || full) this.finish(s, "length");
    else s.nextToken = token;
  }

  private send(s: Stream<C>, text: string): void {
    if (text.length === 0) return;
    s.channel.push({ delta: text, tokenIds: s.unsentIds });
    s.unsentIds = [];
  }

  private finish(s: Stream<C>, reason: FinishReason): void {
    let finish = reason;
    if (reason !== "stop_sequence") {
      // Text held for a partial character or a possible stop prefix is final now.
      const out = s.stops.push(s.detok.flush());
      this.send(s, out.stopped ? out.text : out.text + s.stops.flush());
      if (out.stopped) finish = "stop_sequence";
    }
    if (s.unsentIds.length > 0) s.channel.push({ delta: "", tokenIds: s.unsentIds });
    s.unsentIds = [];
    s.channel.push({
      finish,
      usage: { promptTokens: s.promptIds.length, completionTokens: s.generated },
    });
    this.end(s, undefined);
  }

  private end(s: Stream<C>, err: unknown): void {
    if (s.finished) return;
    s.finished = true;
    // Dropped now, not at the next turn: a cache can be megabytes.
    s.cache = null;
    s.channel.end(err);
  }
}

function abortError(): Error {
  return new DOMException("generation aborted", "AbortError");
}

/** Unbounded single-consumer queue; bounded in practice by `maxTokens`. */
class EventChannel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | null = null;
  private done = false;
  private error: unknown;

  push(item: T): void {
    if (this.done) return;
    this.items.push(item);
    this.wake?.();
  }

  end(error?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.done) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }
}
