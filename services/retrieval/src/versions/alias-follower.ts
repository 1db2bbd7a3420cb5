import { type ConsumerMessages, DeliverPolicy } from "@nats-io/jetstream";
import { type Bus, decodeEvent, Events, type JsMsg } from "@tailor/bus";
import type { Logger } from "@tailor/telemetry";
import type { VersionResolver } from "./resolver.js";

/**
 * Keeps the resolver's alias cache in step with the registry without a restart: an ordered
 * (ephemeral, per-process) consumer on the MODEL stream from the next message on, applying
 * promotions, rollbacks and rejections. Whenever it may have missed something (start, NATS
 * disconnect or reconnect, the consumer recreated) the alias cache is emptied and aliases are
 * resolved through the registry again; while disconnected nothing is cached at all.
 */
export class AliasFollower {
  private messages?: ConsumerMessages;
  /** The connection's status feed (a queued iterator the client can stop). */
  private connection?: AsyncIterable<unknown> & { stop?: () => void };
  private done?: Promise<unknown>;
  private stopped = false;

  constructor(
    private readonly bus: Bus,
    private readonly resolver: VersionResolver,
    private readonly logger: Logger,
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
    // From here on no event is missed: alias answers may be cached.
    this.resolver.setFollowing(true);
    this.done = Promise.all([
      (async () => {
        for await (const m of messages) this.apply(m);
      })(),
      (async () => {
        for await (const s of messages.status()) {
          if (s.type === "ordered_consumer_recreated" || s.type === "heartbeats_missed") {
            this.logger.warn({ status: s.type }, "alias follower may have missed events");
            this.resolver.reset();
          }
        }
      })(),
      (async () => {
        for await (const s of connection) {
          if (s.type === "disconnect") this.resolver.setFollowing(false);
          else if (s.type === "reconnect") this.resolver.setFollowing(true);
        }
      })(),
    ]).catch((err: unknown) => {
      if (!this.stopped) this.logger.error({ err }, "alias follower stopped");
      this.resolver.setFollowing(false);
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.resolver.setFollowing(false);
    this.messages?.stop();
    this.connection?.stop?.();
    await this.done;
  }

  private apply(m: JsMsg): void {
    const subjects = this.bus.subjects;
    const kind = m.subject.slice(m.subject.lastIndexOf(".") + 1);
    try {
      switch (kind) {
        case "promoted": {
          const e = decodeEvent(Events.modelPromoted, m);
          subjects.requireSubjectTenant(m.subject, "model", e.tenant);
          this.resolver.onPromoted(e);
          break;
        }
        case "rolled_back": {
          const e = decodeEvent(Events.modelRolledBack, m);
          subjects.requireSubjectTenant(m.subject, "model", e.tenant);
          this.resolver.onRolledBack(e);
          break;
        }
        case "rejected": {
          const e = decodeEvent(Events.modelRejected, m);
          subjects.requireSubjectTenant(m.subject, "model", e.tenant);
          this.resolver.onRejected(e);
          break;
        }
        default:
          // trained and whatever comes later: nothing an alias depends on.
          break;
      }
    } catch (err) {
      // A bad event cannot be applied; forgetting every alias is always safe.
      this.logger.warn(
        { err, subject: subjects.strip(m.subject) },
        "model event skipped; alias cache reset",
      );
      this.resolver.reset();
    }
  }
}
