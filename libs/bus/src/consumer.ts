import { AckPolicy, type ConsumerMessages, DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import { headers, nanos } from "@nats-io/transport-node";
import type { Logger } from "@tailor/telemetry";
import type { Bus } from "./bus.js";
import { headerSafe } from "./dead-letter.js";
import { isPoisonMessageError, PoisonMessageError } from "./errors.js";
import { isNotFound } from "./streams.js";
import type { StreamKey } from "./subjects.js";

export interface ConsumerOptions {
  stream: StreamKey;
  durable: string;
  filterSubject: string;
  /** Deliveries before a failing message goes to the dead-letter stream. */
  maxDeliver?: number;
  /** Messages handled at once by this process. */
  concurrency?: number;
  ackWaitMs?: number;
  /** The server removes the consumer after this long without a client (abandoned index replicas). */
  inactiveThresholdMs?: number;
  /** Delay before redelivery after the n-th failure (index n-1; the last repeats). */
  backoffMs?: number[];
  logger: Logger;
}

/** What a batch handler says about each message: done, retry later, or dead-letter with a reason. */
export type Outcome = { ok: true } | { ok: false; error: unknown };

export type Handler = (msg: JsMsg) => Promise<void>;
export type BatchHandler = (msgs: JsMsg[]) => Promise<Outcome[]>;

const DEFAULT_BACKOFF = [500, 1000, 2000, 5000, 10_000, 30_000];

/**
 * A durable pull consumer with explicit acks and bounded concurrency. A handler that throws
 * PoisonMessageError sends the message to the dead-letter stream at once; any other error naks
 * it with backoff until `maxDeliver`, then dead-letters it with the last error as the reason.
 */
export class DurableConsumer {
  private messages?: ConsumerMessages;
  private done?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  /** Wakes a batch pump that is waiting for room. */
  private release?: () => void;

  constructor(
    private readonly bus: Bus,
    private readonly o: ConsumerOptions,
  ) {}

  get maxDeliver(): number {
    return this.o.maxDeliver ?? 8;
  }

  /** Creates or updates the durable consumer on the server. */
  async declare(): Promise<void> {
    const stream = this.bus.subjects.stream(this.o.stream);
    const config = {
      durable_name: this.o.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.o.filterSubject,
      max_deliver: this.maxDeliver,
      ack_wait: nanos(this.o.ackWaitMs ?? 30_000),
      max_ack_pending: Math.max(1000, (this.o.concurrency ?? 8) * 4),
      ...(this.o.inactiveThresholdMs
        ? { inactive_threshold: nanos(this.o.inactiveThresholdMs) }
        : {}),
    };
    try {
      await this.bus.jsm.consumers.info(stream, this.o.durable);
      await this.bus.jsm.consumers.update(stream, this.o.durable, {
        max_deliver: config.max_deliver,
        ack_wait: config.ack_wait,
        max_ack_pending: config.max_ack_pending,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.bus.jsm.consumers.add(stream, config);
    }
  }

  /** Starts handling one message at a time per slot, up to `concurrency` slots. */
  async start(handler: Handler): Promise<void> {
    const concurrency = this.o.concurrency ?? 8;
    const messages = await this.open(concurrency * 2);
    this.done = (async () => {
      for await (const m of messages) {
        if (this.stopping) {
          m.nak();
          continue;
        }
        while (this.inFlight.size >= concurrency) await Promise.race(this.inFlight);
        const p = this.handleOne(m, handler).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }
      await Promise.allSettled(this.inFlight);
    })();
  }

  /**
   * Starts handling messages in batches of up to `maxBatch`, waiting at most `maxWaitMs` for a
   * batch to fill. Batches run one after another so each sees the stream's order.
   */
  async startBatches(
    o: { maxBatch: number; maxWaitMs: number },
    handler: BatchHandler,
  ): Promise<void> {
    const messages = await this.open(o.maxBatch * 2);
    const queue: JsMsg[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    // Back-pressure: stop reading (and so pulling) while two batches are already waiting, so
    // messages do not sit unprocessed in memory until their ack wait runs out.
    const limit = o.maxBatch * 2;
    const pump = (async () => {
      for await (const m of messages) {
        queue.push(m);
        wake?.();
        while (queue.length >= limit && !this.stopping)
          await new Promise<void>((r) => {
            this.release = r;
          });
      }
      ended = true;
      wake?.();
    })();
    this.done = (async () => {
      while (true) {
        if (queue.length === 0) {
          if (ended) break;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        if (queue.length < o.maxBatch && !ended && !this.stopping) {
          await new Promise<void>((r) => {
            const t = setTimeout(r, o.maxWaitMs);
            wake = () => {
              if (queue.length >= o.maxBatch) {
                clearTimeout(t);
                r();
              }
            };
          });
          wake = undefined;
        }
        const batch = queue.splice(0, o.maxBatch);
        this.release?.();
        this.release = undefined;
        if (this.stopping) {
          for (const m of batch) m.nak();
          continue;
        }
        await this.handleBatch(batch, handler);
      }
      await pump;
    })();
  }

  /** Stops pulling, lets in-flight work finish and naks what was pulled but not started. */
  async stop(): Promise<void> {
    if (this.stopping) return this.done;
    this.stopping = true;
    this.messages?.stop();
    this.release?.();
    await this.done;
  }

  private async open(maxMessages: number): Promise<ConsumerMessages> {
    await this.declare();
    const consumer = await this.bus.js.consumers.get(
      this.bus.subjects.stream(this.o.stream),
      this.o.durable,
    );
    this.messages = await consumer.consume({ max_messages: maxMessages });
    return this.messages;
  }

  private async handleOne(m: JsMsg, handler: Handler): Promise<void> {
    try {
      headerProblem(m);
      await handler(m);
      m.ack();
    } catch (err) {
      await this.fail(m, err);
    }
  }

  private async handleBatch(all: JsMsg[], handler: BatchHandler): Promise<void> {
    // A message whose headers cannot even be read fails alone, before the handler sees it.
    const unreadable: { m: JsMsg; error: PoisonMessageError }[] = [];
    const batch: JsMsg[] = [];
    for (const m of all) {
      try {
        headerProblem(m);
        batch.push(m);
      } catch (error) {
        unreadable.push({ m, error: error as PoisonMessageError });
      }
    }
    let outcomes: Outcome[] = [];
    if (batch.length > 0) {
      try {
        outcomes = await handler(batch);
      } catch (err) {
        outcomes = batch.map(() => ({ ok: false, error: err }));
      }
    }
    await Promise.all([
      ...batch.map(async (m, i) => {
        const o = outcomes[i] ?? { ok: false, error: new Error("handler returned no outcome") };
        if (o.ok) m.ack();
        else await this.fail(m, o.error);
      }),
      ...unreadable.map(({ m, error }) => this.fail(m, error)),
    ]);
  }

  private async fail(m: JsMsg, err: unknown): Promise<void> {
    const reason = err instanceof Error ? err.message : String(err);
    const attempt = m.info.deliveryCount;
    if (isPoisonMessageError(err) || attempt >= this.maxDeliver) {
      const why = isPoisonMessageError(err) ? "poison" : `failed ${attempt} deliveries`;
      try {
        await deadLetter(this.bus, m, `${why}: ${reason}`, this.o.durable);
        // No reason text: nats-server 2.9 ignores "+TERM <reason>" and would redeliver.
        m.term();
        this.o.logger.warn({ subject: m.subject, seq: m.seq, reason }, "message dead-lettered");
      } catch (dlqErr) {
        // Without a dead-letter copy we must not drop it: let it come back.
        this.o.logger.error(
          { err: dlqErr, subject: m.subject },
          "dead-letter publish failed; naking",
        );
        m.nak(1000);
      }
      return;
    }
    const backoff = this.o.backoffMs ?? DEFAULT_BACKOFF;
    const delay = backoff[Math.min(attempt - 1, backoff.length - 1)] ?? 1000;
    this.o.logger.warn(
      { subject: m.subject, seq: m.seq, attempt, delay, reason },
      "message failed; will retry",
    );
    m.nak(delay);
  }
}

/** Copies a message to `dlq.<original subject>` with the reason and where it came from. */
export async function deadLetter(
  bus: Bus,
  m: JsMsg,
  reason: string,
  consumer: string,
): Promise<void> {
  const h = headers();
  // Keep the original headers when they can be read and carried; never let them stop the copy.
  try {
    if (m.headers)
      for (const [k, v] of m.headers) for (const value of v) h.append(k, headerSafe(value, 8192));
  } catch {
    h.set("tailor-dlq-headers", "unreadable: the original headers were dropped");
  }
  // A reason with a line break would make the header, and so the dead-lettering, fail forever.
  h.set("tailor-dlq-reason", headerSafe(reason));
  h.set("tailor-dlq-subject", m.subject);
  h.set("tailor-dlq-stream", m.info.stream);
  h.set("tailor-dlq-sequence", String(m.seq));
  h.set("tailor-dlq-consumer", consumer);
  h.set("tailor-dlq-deliveries", String(m.info.deliveryCount));
  const id = `dlq:${m.info.stream}:${m.seq}:${consumer}`;
  h.set("Nats-Msg-Id", id);
  await bus.js.publish(bus.subjects.deadLetter(m.subject), m.data, { msgID: id, headers: h });
}

/**
 * Throws PoisonMessageError when the message's headers cannot be parsed (nats.js refuses, for
 * example, a value holding a bare CR that a raw publisher sent): retrying cannot help.
 */
function headerProblem(m: JsMsg): void {
  try {
    void m.headers;
  } catch (err) {
    throw new PoisonMessageError(
      `message headers cannot be read: ${headerSafe((err as Error).message, 200)}`,
    );
  }
}
