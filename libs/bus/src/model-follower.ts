import { type ConsumerMessages, DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import type { ModelPromoted, ModelRejected, ModelRolledBack } from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";
import type { Bus } from "./bus.js";
import { decodeEvent, Events } from "./events.js";

/** A change of a tenant's alias, as the registry publishes it on the MODEL stream. */
export type AliasChange =
  | { kind: "promoted"; event: ModelPromoted }
  | { kind: "rolled_back"; event: ModelRolledBack }
  | { kind: "rejected"; event: ModelRejected };

/** A cache of alias targets that a {@link ModelEventFollower} keeps in step with the registry. */
export interface AliasCache {
  /** True: from now on no change is missed (answers may be cached); false: disconnected. */
  setFollowing(following: boolean): void;
  /** Changes may have been missed, or one could not be read: forget every alias. */
  reset(): void;
  apply(change: AliasChange): void;
}

/**
 * Follows promotions, rollbacks and rejections without a restart: an ordered (ephemeral,
 * per-process) consumer on the MODEL stream from its next message on. Whenever a change may have
 * been missed (the consumer recreated, heartbeats missed, NATS reconnected) the cache is told to
 * reset or to stop caching; an event that cannot be read resets it, which is always safe.
 */
export class ModelEventFollower {
  private messages?: ConsumerMessages;
  /** The connection's status feed (a queued iterator the client can stop). */
  private connection?: AsyncIterable<unknown> & { stop?: () => void };
  private done?: Promise<unknown>;
  private stopped = false;

  constructor(
    private readonly bus: Bus,
    private readonly cache: AliasCache,
    private readonly logger: Logger,
    /** What is followed, for logs ("alias", "route", "guard classifier"). */
    private readonly what: string,
  ) {}

  async start(): Promise<void> {
    const stream = this.bus.subjects.stream("MODEL");
    // Start after the stream's last message, explicitly: an ordered consumer created with
    // "deliver new" that is recreated before its first message would start over from the
    // stream's first message (a month of history).
    const last = (await this.bus.jsm.streams.info(stream)).state.last_seq;
    // No subject filter: the stream holds model events only (and filter_subjects needs NATS 2.10).
    const consumer = await this.bus.js.consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: last + 1,
    });
    const messages = await consumer.consume();
    this.messages = messages;
    const connection = this.bus.nc.status();
    this.connection = connection;
    this.cache.setFollowing(true);
    this.done = Promise.all([
      (async () => {
        for await (const m of messages) this.apply(m);
      })(),
      (async () => {
        for await (const s of messages.status()) {
          if (s.type === "ordered_consumer_recreated" || s.type === "heartbeats_missed") {
            this.logger.warn({ status: s.type }, `${this.what} follower may have missed events`);
            this.cache.reset();
          }
        }
      })(),
      (async () => {
        for await (const s of connection as AsyncIterable<{ type: string }>) {
          if (s.type === "disconnect") this.cache.setFollowing(false);
          else if (s.type === "reconnect") this.cache.setFollowing(true);
        }
      })(),
    ]).catch((err: unknown) => {
      if (!this.stopped) this.logger.error({ err }, `${this.what} follower stopped`);
      this.cache.setFollowing(false);
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cache.setFollowing(false);
    this.messages?.stop();
    this.connection?.stop?.();
    await this.done;
  }

  private apply(m: JsMsg): void {
    const subjects = this.bus.subjects;
    const kind = m.subject.slice(m.subject.lastIndexOf(".") + 1);
    try {
      let change: AliasChange;
      if (kind === "promoted") change = { kind, event: decodeEvent(Events.modelPromoted, m) };
      else if (kind === "rolled_back")
        change = { kind, event: decodeEvent(Events.modelRolledBack, m) };
      else if (kind === "rejected") change = { kind, event: decodeEvent(Events.modelRejected, m) };
      // registered, trained and whatever comes later move no alias.
      else return;
      subjects.requireSubjectTenant(m.subject, "model", change.event.tenant);
      this.cache.apply(change);
    } catch (err) {
      this.logger.warn(
        { err, subject: subjects.strip(m.subject) },
        `model event skipped; every ${this.what} forgotten`,
      );
      this.cache.reset();
    }
  }
}
