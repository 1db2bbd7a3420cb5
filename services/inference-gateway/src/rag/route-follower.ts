import { type ConsumerMessages, DeliverPolicy } from "@nats-io/jetstream";
import { type Bus, decodeEvent, Events, type JsMsg } from "@tailor/bus";
import type { Logger } from "@tailor/telemetry";
import type { RegistryRoutes } from "./routes.js";

/**
 * Keeps the routes in step with the registry without a restart: an ordered (per-process)
 * consumer on the MODEL stream from its next message on. A promotion, rollback or rejection of a
 * tenant's retrieval or generator model makes the routes forget that tenant's aliases (the next
 * request asks the registry once). Whenever an event may have been missed (NATS disconnect,
 * consumer recreated) every alias is forgotten; while disconnected nothing is cached.
 */
export class RouteFollower {
  private messages?: ConsumerMessages;
  private connection?: AsyncIterable<unknown> & { stop?: () => void };
  private done?: Promise<unknown>;
  private stopped = false;

  constructor(
    private readonly bus: Bus,
    private readonly routes: RegistryRoutes,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const stream = this.bus.subjects.stream("MODEL");
    // An explicit start sequence: "deliver new" would replay the whole stream if the ordered
    // consumer were recreated before its first message.
    const last = (await this.bus.jsm.streams.info(stream)).state.last_seq;
    const consumer = await this.bus.js.consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: last + 1,
    });
    const messages = await consumer.consume();
    this.messages = messages;
    const connection = this.bus.nc.status();
    this.connection = connection;
    this.routes.setFollowing(true);
    this.done = Promise.all([
      (async () => {
        for await (const m of messages) this.apply(m);
      })(),
      (async () => {
        for await (const s of messages.status())
          if (s.type === "ordered_consumer_recreated" || s.type === "heartbeats_missed") {
            this.logger.warn({ status: s.type }, "route follower may have missed model events");
            this.routes.reset();
          }
      })(),
      (async () => {
        for await (const s of connection as AsyncIterable<{ type: string }>) {
          if (s.type === "disconnect") this.routes.setFollowing(false);
          else if (s.type === "reconnect") this.routes.setFollowing(true);
        }
      })(),
    ]).catch((err: unknown) => {
      if (!this.stopped) this.logger.error({ err }, "route follower stopped");
      this.routes.setFollowing(false);
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.routes.setFollowing(false);
    this.messages?.stop();
    this.connection?.stop?.();
    await this.done;
  }

  private apply(m: JsMsg): void {
    const kind = m.subject.slice(m.subject.lastIndexOf(".") + 1);
    try {
      // registered, trained and what comes later move no alias.
      const tenant =
        kind === "promoted"
          ? decodeEvent(Events.modelPromoted, m).tenant
          : kind === "rolled_back"
            ? decodeEvent(Events.modelRolledBack, m).tenant
            : kind === "rejected"
              ? decodeEvent(Events.modelRejected, m).tenant
              : undefined;
      if (tenant === undefined) return;
      this.bus.subjects.requireSubjectTenant(m.subject, "model", tenant);
      this.routes.forget(tenant);
    } catch (err) {
      this.logger.warn(
        { err, subject: this.bus.subjects.strip(m.subject) },
        "model event skipped; every route forgotten",
      );
      this.routes.reset();
    }
  }
}
