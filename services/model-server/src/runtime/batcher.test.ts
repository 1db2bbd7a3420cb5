import { describe, expect, it, vi } from "vitest";
import {
  BatcherClosedError,
  CancelledError,
  DeadlineExceededError,
  DynamicBatcher,
  QueueFullError,
} from "./batcher.js";

/**
 * A model stand-in that records its calls and answers each item with its double. After `hold()`,
 * calls stay busy until `release()`, so a test decides when the model is free instead of
 * guessing how long a sleep must be.
 */
function doubler() {
  const calls: number[][] = [];
  let busy: Promise<void> = Promise.resolve();
  let free = () => {};
  const run = async (items: number[]) => {
    calls.push([...items]);
    await busy;
    return items.map((x) => x * 2);
  };
  const hold = () => {
    busy = new Promise((r) => {
      free = r;
    });
  };
  return { calls, run, hold, release: () => free() };
}

describe("DynamicBatcher", () => {
  it("merges concurrent submissions into one call and routes results back", async () => {
    const model = doubler();
    const b = new DynamicBatcher({
      run: model.run,
      maxBatchSize: 16,
      maxQueueDelayMs: 20,
      maxQueueItems: 100,
    });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    try {
      const results = Promise.all([b.submit([1, 2]), b.submit([3]), b.submit([4, 5, 6])]);
      await vi.advanceTimersByTimeAsync(19);
      expect(model.calls).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(model.calls).toEqual([[1, 2, 3, 4, 5, 6]]);
      expect(await results).toEqual([[2, 4], [6], [8, 10, 12]]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("sends a full batch at once without waiting out the delay", async () => {
    const model = doubler();
    const b = new DynamicBatcher({
      run: model.run,
      maxBatchSize: 3,
      maxQueueDelayMs: 10_000,
      maxQueueItems: 100,
    });
    const full = b.submit([1, 2, 3]);
    // Dispatched within submit: no timer had a chance to run.
    expect(model.calls).toEqual([[1, 2, 3]]);
    expect(await full).toEqual([2, 4, 6]);
  });

  it("splits a large submission across batches and reassembles it in order", async () => {
    const model = doubler();
    const b = new DynamicBatcher({
      run: model.run,
      maxBatchSize: 4,
      maxQueueDelayMs: 1,
      maxQueueItems: 100,
    });
    const items = Array.from({ length: 10 }, (_, i) => i);
    expect(await b.submit(items)).toEqual(items.map((x) => x * 2));
    expect(model.calls.map((c) => c.length)).toEqual([4, 4, 2]);
  });

  it("respects the token budget, but runs one oversized item alone", async () => {
    const model = doubler();
    const b = new DynamicBatcher({
      run: model.run,
      maxBatchSize: 100,
      maxQueueDelayMs: 5,
      maxQueueItems: 100,
      maxTokens: 10,
      tokensOf: (x: number) => x,
    });
    await Promise.all([b.submit([4, 4]), b.submit([4, 50, 1])]);
    expect(model.calls).toEqual([[4, 4], [4], [50], [1]]);
  });

  it("rejects with QueueFullError when the queue would exceed maxQueueItems", async () => {
    const model = doubler();
    model.hold();
    const b = new DynamicBatcher({
      run: model.run,
      maxBatchSize: 2,
      maxQueueDelayMs: 0,
      maxQueueItems: 3,
    });
    const first = b.submit([1, 2]); // sent at once, occupies the only slot
    expect(model.calls).toEqual([[1, 2]]);
    const second = b.submit([3, 4, 5]); // waits: queue depth 3
    expect(b.queueDepth).toBe(3);
    const err = await b.submit([6]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).code).toBe("QUEUE_FULL");
    expect((err as QueueFullError).name).toBe("QueueFullError");
    model.release();
    expect(await first).toEqual([2, 4]);
    expect(await second).toEqual([6, 8, 10]);
    expect(b.queueDepth).toBe(0);
  });

  it("rejects with DeadlineExceededError and withdraws the items when the deadline passes", async () => {
    const model = doubler();
    model.hold();
    const b = new DynamicBatcher({
      run: model.run,
      maxBatchSize: 1,
      maxQueueDelayMs: 0,
      maxQueueItems: 100,
    });
    const busy = b.submit([1]);
    const late = b.submit([2, 3], { deadlineMs: 10 });
    await expect(late).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(b.queueDepth).toBe(0);
    model.release();
    await busy;
    await b.close();
    expect(model.calls).toEqual([[1]]);
  });

  it("maps a timed-out signal to DeadlineExceededError and other aborts to CancelledError", async () => {
    const model = doubler();
    model.hold();
    const b = new DynamicBatcher({
      run: model.run,
      maxBatchSize: 1,
      maxQueueDelayMs: 0,
      maxQueueItems: 100,
    });
    const busy = b.submit([1]);
    const timedOut = b.submit([2], { signal: AbortSignal.timeout(5) });
    const ac = new AbortController();
    const cancelled = b.submit([3], { signal: ac.signal });
    ac.abort();
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    await expect(timedOut).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(b.submit([4], { signal: ac.signal })).rejects.toBeInstanceOf(CancelledError);
    model.release();
    await busy;
    expect(model.calls).toEqual([[1]]);
  });

  it("fails every submission in a batch whose run throws, and keeps serving", async () => {
    let fail = true;
    const b = new DynamicBatcher({
      run: async (items: number[]) => {
        if (fail) throw new Error("model exploded");
        return items;
      },
      maxBatchSize: 8,
      maxQueueDelayMs: 5,
      maxQueueItems: 100,
    });
    const results = await Promise.allSettled([b.submit([1]), b.submit([2])]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    expect(await b.submit([7])).toEqual([7]);
  });

  it("drains on close and refuses new work afterwards", async () => {
    const model = doubler();
    const b = new DynamicBatcher({
      run: model.run,
      maxBatchSize: 8,
      maxQueueDelayMs: 10_000,
      maxQueueItems: 100,
    });
    const pending = b.submit([1, 2]);
    await b.close();
    expect(await pending).toEqual([2, 4]);
    await expect(b.submit([3])).rejects.toBeInstanceOf(BatcherClosedError);
  });
});
