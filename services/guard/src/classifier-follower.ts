import { type ConsumerMessages, DeliverPolicy } from "@nats-io/jetstream";
import { type Bus, decodeEvent, Events, type JsMsg } from "@tailor/bus";
import type { Logger } from "@tailor/telemetry";
import { GUARD_MODEL, type TenantClassifiers } from "./classifier.js";

/**
 * Reloads a tenant's classifier without a restart: an ordered (ephemeral, per-process) consumer
 * on the MODEL stream from the next message on; a promotion, rollback or rejection of a `guard`
 * version makes the tenant's prod classifier be resolved again. Whenever events may have been
 * missed (NATS reconnect, the consumer recreated) every tenant's is resolved again.
 */
export class ClassifierFollower {
  private messages?: ConsumerMessages;
  private connection?: AsyncIterable<unknown> & { stop?: () => void };
  private done?: Promise<unknown>;
  private stopped = false;

  constructor(
    private readonly bus: Bus,
    private readonly classifiers: TenantClassifiers,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const stream = this.bus.subjects.stream("MODEL");
    // From after the last message, explicitly: "deliver new" recreated before its first
    // message would start over from the stream's first message.
    const last = (await this.bus.jsm.streams.info(stream)).state.last_seq;
    const consumer = await this.bus.js.consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: last + 1,
    });
    const messages = await consumer.consume();
    this.messages = messages;
    const connection = this.bus.nc.status();
    this.connection = connection;
    // Anything resolved before the consumer existed may be older than its first event.
    this.classifiers.reset();
    this.done = Promise.all([
      (async () => {
        for await (const m of messages) this.apply(m);
      })(),
      (async () => {
        for await (const s of messages.status()) {
          if (s.type === "ordered_consumer_recreated" || s.type === "heartbeats_missed")
            this.classifiers.reset();
        }
      })(),
      (async () => {
        for await (const s of connection) {
          if ((s as { type?: string }).type === "reconnect") this.classifiers.reset();
        }
      })(),
    ]).catch((err: unknown) => {
      if (!this.stopped)
        this.logger.error(
          { err: (err as Error).message },
          "guard classifier follower stopped: promotions apply after the cache expires",
        );
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.messages?.stop();
    this.connection?.stop?.();
    await this.done;
  }

  private apply(m: JsMsg): void {
    const subjects = this.bus.subjects;
    const kind = m.subject.slice(m.subject.lastIndexOf(".") + 1);
    if (kind !== "promoted" && kind !== "rolled_back" && kind !== "rejected") return;
    try {
      const e =
        kind === "promoted"
          ? decodeEvent(Events.modelPromoted, m)
          : kind === "rolled_back"
            ? decodeEvent(Events.modelRolledBack, m)
            : decodeEvent(Events.modelRejected, m);
      subjects.requireSubjectTenant(m.subject, "model", e.tenant);
      if (e.model === GUARD_MODEL) this.classifiers.forget(e.tenant);
    } catch (err) {
      // A bad event cannot be applied; resolving every tenant again is always safe.
      this.logger.warn(
        { err: (err as Error).message, subject: subjects.strip(m.subject) },
        "model event skipped; guard classifiers resolved again",
      );
      this.classifiers.reset();
    }
  }
}
