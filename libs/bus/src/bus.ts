import { readFile } from "node:fs/promises";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type PubAck,
} from "@nats-io/jetstream";
import {
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
} from "@nats-io/transport-node";
import type { Logger } from "@tailor/telemetry";
import { ClaimStore } from "./claim-check.js";
import { buildHeaders, PROTOBUF } from "./cloudevents.js";
import { type EventDef, encodeEvent } from "./events.js";
import { ensureStreams, type StreamOptions } from "./streams.js";
import { Subjects } from "./subjects.js";

/**
 * How to authenticate to NATS (the shape of `NatsAuth` in @tailor/config); secrets are read
 * through `reveal()` here and nowhere else.
 */
export type BusAuth =
  | { method: "none" }
  | { method: "user"; user: string; pass: { reveal(): string } }
  | { method: "token"; token: { reveal(): string } }
  | { method: "creds"; credsFile: string };

export interface BusOptions {
  url: string;
  /** Connection name shown by the server (service name). */
  name: string;
  /** Credentials; none by default (a laptop nats-server without users). */
  auth?: BusAuth;
  prefix?: string;
  replicas?: number;
  duplicateWindowMs?: number;
  logger?: Logger;
  /** Fail when the first connection attempt fails instead of retrying until the server is up (a CLI must not hang). */
  failFast?: boolean;
  /** Milliseconds a connection attempt may take; default 10 s. */
  connectTimeoutMs?: number;
}

export interface PublishOptions {
  /** Idempotency key: the broker drops a second message with the same id inside its duplicate window. */
  id: string;
  /** CloudEvents `source`, e.g. `/tailor/ingestion`. */
  source: string;
  subject?: string;
}

/** One NATS connection with JetStream, the declared streams and typed publishing. */
export class Bus {
  readonly subjects: Subjects;
  private claims?: ClaimStore;

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    subjects: Subjects,
    private readonly logger?: Logger,
  ) {
    this.subjects = subjects;
  }

  /** Connects (retrying while the server starts) and declares the streams. */
  static async connect(o: BusOptions): Promise<Bus> {
    const nc = await connect({
      servers: o.url.split(","),
      name: o.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      waitOnFirstConnect: !o.failFast,
      timeout: o.connectTimeoutMs ?? 10_000,
      ...(await authOptions(o.auth)),
    });
    const subjects = new Subjects(o.prefix ?? "");
    const streamOpts: StreamOptions = {
      replicas: o.replicas ?? 1,
      duplicateWindowMs: o.duplicateWindowMs ?? 120_000,
    };
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(nc);
      await ensureStreams(jsm, subjects, streamOpts);
    } catch (err) {
      // An open connection would keep the process alive after the error.
      await nc.close();
      throw err;
    }
    const bus = new Bus(nc, jetstream(nc, { timeout: 10_000 }), jsm, subjects, o.logger);
    bus.watchStatus();
    return bus;
  }

  /** Publishes a typed protobuf event with CloudEvents headers and a message id; waits for the stream's ack. */
  async publish<S extends DescMessage>(
    subject: string,
    d: EventDef<S>,
    msg: MessageShape<S>,
    o: PublishOptions,
  ): Promise<PubAck> {
    return this.publishRaw(subject, encodeEvent(d, msg), {
      id: o.id,
      type: d.type,
      source: o.source,
      subject: o.subject,
      contentType: PROTOBUF,
    });
  }

  /** Publishes already-encoded bytes with the given CloudEvents attributes. */
  async publishRaw(
    subject: string,
    data: Uint8Array,
    a: { id: string; type: string; source: string; subject?: string; contentType: string },
  ): Promise<PubAck> {
    const headers = buildHeaders(a);
    return this.js.publish(subject, data, { msgID: a.id, headers, timeout: 10_000 });
  }

  /** The claim-check store for payloads larger than the server's max payload. */
  async claimStore(): Promise<ClaimStore> {
    const p = this.subjects.prefix;
    this.claims ??= await ClaimStore.open(this.js, p ? `${p}-tailor-claims` : "tailor-claims");
    return this.claims;
  }

  /** Largest message the server accepts. */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  /** Flushes pending publishes and closes; safe to call twice. */
  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    try {
      await this.nc.drain();
    } catch (err) {
      this.logger?.warn({ err }, "nats drain failed; closing");
      await this.nc.close();
    }
  }

  private watchStatus(): void {
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === "disconnect" || s.type === "reconnect")
          this.logger?.warn({ status: s.type }, "nats connection");
      }
    })().catch(() => {});
  }
}

async function authOptions(a: BusAuth | undefined): Promise<Partial<ConnectionOptions>> {
  switch (a?.method) {
    case undefined:
    case "none":
      return {};
    case "user":
      return { user: a.user, pass: a.pass.reveal() };
    case "token":
      return { token: a.token.reveal() };
    case "creds": {
      let creds: Uint8Array;
      try {
        creds = await readFile(a.credsFile);
      } catch (err) {
        throw new Error(`NATS creds file ${a.credsFile} could not be read`, { cause: err });
      }
      return { authenticator: credsAuthenticator(creds) };
    }
    default: {
      const never: never = a;
      throw new Error(`unknown NATS auth method ${JSON.stringify(never)}`);
    }
  }
}
