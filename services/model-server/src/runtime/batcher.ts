/** Thrown by `submit` when accepting the items would exceed `maxQueueItems`. */
export class QueueFullError extends Error {
  override readonly name = "QueueFullError";
  readonly code = "QUEUE_FULL";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a submission's deadline passes (or its signal times out) before its results are in. */
export class DeadlineExceededError extends Error {
  override readonly name = "DeadlineExceededError";
  readonly code = "DEADLINE_EXCEEDED";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Thrown when a submission's AbortSignal fires for a reason other than a timeout. */
export class CancelledError extends Error {
  override readonly name = "CancelledError";
  readonly code = "CANCELLED";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Thrown by `submit` after `close()`. */
export class BatcherClosedError extends Error {
  override readonly name = "BatcherClosedError";
  readonly code = "CLOSED";
  constructor(message = "batcher is closed", options?: ErrorOptions) {
    super(message, options);
  }
}

/** Options of {@link DynamicBatcher}. */
export interface DynamicBatcherOptions<TIn, TOut> {
  /** One model call; must return one output per input, in order. */
  readonly run: (items: TIn[]) => Promise<TOut[]>;
  readonly maxBatchSize: number;
  /** How long the oldest waiting item may wait for company before a partial batch is sent. */
  readonly maxQueueDelayMs: number;
  /** Items waiting (not yet sent) beyond which `submit` fails fast with QueueFullError. */
  readonly maxQueueItems: number;
  /** Budget of Σ tokensOf(item) per batch; a single item over budget still runs alone. */
  readonly maxTokens?: number;
  readonly tokensOf?: (item: TIn) => number;
  /** Batches allowed in flight at once; 1 lets the queue fill while the model is busy. */
  readonly maxConcurrentBatches?: number;
}

/** Options of one {@link DynamicBatcher.submit}. */
export interface SubmitOptions {
  readonly signal?: AbortSignal;
  /** Time budget in milliseconds from the call. */
  readonly deadlineMs?: number;
}

interface Request<TIn, TOut> {
  readonly items: readonly TIn[];
  readonly results: TOut[];
  readonly enqueuedAt: number;
  /** Index of the first item not yet handed to a batch. */
  next: number;
  /** Items whose results are still outstanding. */
  pending: number;
  settled: boolean;
  resolve(value: TOut[]): void;
  reject(err: unknown): void;
  cleanup(): void;
}

interface Slice<TIn, TOut> {
  readonly req: Request<TIn, TOut>;
  readonly from: number;
  readonly to: number;
}

/** Merges concurrent submissions into model calls of up to maxBatchSize items / maxTokens tokens. */
export class DynamicBatcher<TIn, TOut> {
  private readonly opts: DynamicBatcherOptions<TIn, TOut> & {
    readonly maxConcurrentBatches: number;
  };
  // FIFO of requests with unsent items; the head may be partly sent.
  private queue: Request<TIn, TOut>[] = [];
  private waiting = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly idle: (() => void)[] = [];

  constructor(opts: DynamicBatcherOptions<TIn, TOut>) {
    if (opts.maxBatchSize < 1) throw new RangeError("maxBatchSize must be at least 1");
    this.opts = { maxConcurrentBatches: 1, ...opts };
  }

  /** Items accepted but not yet handed to `run`. */
  get queueDepth(): number {
    return this.waiting;
  }

  /** Resolves with one output per item, in order, once every item has been through `run`. */
  submit(items: readonly TIn[], options: SubmitOptions = {}): Promise<TOut[]> {
    if (this.closed) return Promise.reject(new BatcherClosedError());
    if (items.length === 0) return Promise.resolve([]);
    if (this.waiting + items.length > this.opts.maxQueueItems) {
      return Promise.reject(
        new QueueFullError(
          `queue holds ${this.waiting} items; ${items.length} more exceed ${this.opts.maxQueueItems}`,
        ),
      );
    }
    const { signal, deadlineMs } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<TOut[]>((resolve, reject) => {
      let deadline: NodeJS.Timeout | undefined;
      const onAbort = () => this.fail(req, abortError(signal!));
      const req: Request<TIn, TOut> = {
        items,
        results: new Array(items.length),
        enqueuedAt: performance.now(),
        next: 0,
        pending: items.length,
        settled: false,
        resolve,
        reject,
        cleanup: () => {
          if (deadline) clearTimeout(deadline);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      if (deadlineMs !== undefined) {
        deadline = setTimeout(
          () => this.fail(req, new DeadlineExceededError(`deadline of ${deadlineMs} ms exceeded`)),
          Math.max(0, deadlineMs),
        );
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push(req);
      this.waiting += items.length;
      this.pump();
    });
  }

  /** Stops accepting work, sends what is queued without waiting for company, and waits for it. */
  async close(): Promise<void> {
    this.closed = true;
    this.pump();
    if (this.inFlight === 0 && this.waiting === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxConcurrentBatches && this.waiting > 0) {
      const head = this.queue[0]!;
      const waited = performance.now() - head.enqueuedAt;
      if (!this.closed && waited < this.opts.maxQueueDelayMs && !this.batchIsFull()) {
        this.arm(this.opts.maxQueueDelayMs - waited);
        return;
      }
      this.dispatch(this.takeBatch());
    }
    if (this.waiting === 0) this.disarm();
    if (this.inFlight === 0 && this.waiting === 0) for (const wake of this.idle.splice(0)) wake();
  }

  private batchIsFull(): boolean {
    if (this.waiting >= this.opts.maxBatchSize) return true;
    const { maxTokens, tokensOf } = this.opts;
    if (maxTokens === undefined || tokensOf === undefined) return false;
    let tokens = 0;
    for (const req of this.queue) {
      for (let i = req.next; i < req.items.length; i++) {
        tokens += tokensOf(req.items[i]!);
        if (tokens >= maxTokens) return true;
      }
    }
    return false;
  }

  private takeBatch(): Slice<TIn, TOut>[] {
    const { maxBatchSize, maxTokens, tokensOf } = this.opts;
    const slices: Slice<TIn, TOut>[] = [];
    let count = 0;
    let tokens = 0;
    while (this.queue.length > 0 && count < maxBatchSize) {
      const req = this.queue[0]!;
      const from = req.next;
      let to = from;
      while (to < req.items.length && count < maxBatchSize) {
        if (maxTokens !== undefined && tokensOf !== undefined) {
          const t = tokensOf(req.items[to]!);
          if (count > 0 && tokens + t > maxTokens) break;
          tokens += t;
        }
        to++;
        count++;
      }
      if (to > from) slices.push({ req, from, to });
      req.next = to;
      this.waiting -= to - from;
      if (to < req.items.length) break;
      this.queue.shift();
    }
    return slices;
  }

  private dispatch(slices: Slice<TIn, TOut>[]): void {
    const items: TIn[] = [];
    for (const s of slices) for (let i = s.from; i < s.to; i++) items.push(s.req.items[i]!);
    this.inFlight++;
    void this.execute(slices, items).finally(() => {
      this.inFlight--;
      this.pump();
    });
  }

  private async execute(slices: Slice<TIn, TOut>[], items: TIn[]): Promise<void> {
    let outputs: TOut[];
    try {
      outputs = await this.opts.run(items);
      if (outputs.length !== items.length) {
        throw new Error(`run returned ${outputs.length} results for ${items.length} items`);
      }
    } catch (err) {
      for (const s of slices) this.fail(s.req, err);
      return;
    }
    let k = 0;
    for (const s of slices) {
      const { req } = s;
      for (let i = s.from; i < s.to; i++) req.results[i] = outputs[k++]!;
      if (req.settled) continue;
      req.pending -= s.to - s.from;
      if (req.pending === 0) {
        req.settled = true;
        req.cleanup();
        req.resolve(req.results);
      }
    }
  }

  /** Settles a request with an error and withdraws its unsent items; its sent items run on, ignored. */
  private fail(req: Request<TIn, TOut>, err: unknown): void {
    if (req.settled) return;
    req.settled = true;
    req.cleanup();
    const unsent = req.items.length - req.next;
    if (unsent > 0) {
      this.waiting -= unsent;
      req.next = req.items.length;
      this.queue = this.queue.filter((r) => r !== req);
    }
    req.reject(err);
    this.pump();
  }

  private arm(delayMs: number): void {
    if (this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.pump();
      },
      Math.max(0, Math.ceil(delayMs)),
    );
  }

  private disarm(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof DeadlineExceededError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new DeadlineExceededError("request timed out", { cause: reason });
  }
  return new CancelledError("request cancelled", { cause: reason });
}
