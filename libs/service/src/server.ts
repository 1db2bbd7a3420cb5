import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo, Server, Socket } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { HealthCheckResponse_ServingStatus } from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";
import { isFieldError } from "./fields.js";
import { HealthStatus, registerHealth } from "./health.js";
import { registerReflection } from "./reflection.js";
import { createSniffingServer } from "./sniff.js";
import {
  installUtf8Guard,
  strictJsonTextDecoder,
  utf8GuardInterceptor,
  withUtf8Guard,
} from "./utf8-guard.js";

/** Default largest request message; each service should set its own (retrieval's is small). */
export const DEFAULT_READ_MAX_BYTES = 64 * 1024 * 1024;
/** Smallest response gzipped for a client that accepts it. */
const COMPRESS_MIN_BYTES = 256 * 1024;

export interface RpcServerOptions {
  host: string;
  port: number;
  /** The Tailor services this server implements (for health and reflection). */
  services: DescService[];
  routes: (router: ConnectRouter) => void;
  logger: Logger;
  /**
   * Largest request message accepted, in bytes (default DEFAULT_READ_MAX_BYTES). A larger body is
   * refused with RESOURCE_EXHAUSTED as soon as its declared length or the bytes read pass it,
   * without reading the rest.
   */
  readMaxBytes?: number;
  /**
   * What the server's health also depends on once it listens (an outbox relay that cannot
   * publish, for instance): SERVING only while every one is healthy, followed as they change.
   */
  readiness?: readonly HealthSource[];
  /**
   * Serves HTTP requests that are not RPCs (the gateway's OpenAI-compatible routes); without it
   * they get 404. It sees HTTP/1.1 and HTTP/2 requests alike.
   */
  fallback?: NodeHandler;
}

/** Something whose health the server's health follows (OutboxRelay is one). */
export interface HealthSource {
  readonly isHealthy: boolean;
  /** Subscribes to changes; returns the unsubscribe function. */
  onHealth(listener: (healthy: boolean, reason: string) => void): () => void;
}

export type NodeHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/**
 * One port that speaks Connect, gRPC and gRPC-Web, with grpc.health.v1 and server reflection:
 * HTTP/2 without TLS (h2c, what gRPC clients use) and HTTP/1.1 (curl, browsers, fetch), told apart
 * by the HTTP/2 connection preface. Unexpected errors reach the client as INTERNAL without
 * internals; Connect JSON is parsed strictly (unknown fields and enum names are refused).
 */
export class RpcServer {
  readonly health: HealthStatus;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** HTTP/1.1 connections and how many requests each is serving. */
  private readonly h1 = new Map<Socket, number>();
  private closing = false;
  private unfollow: (() => void)[] = [];

  constructor(private readonly o: RpcServerOptions) {
    this.health = new HealthStatus(
      o.services.map((s) => s.typeName),
      HealthCheckResponse_ServingStatus.NOT_SERVING,
    );
  }

  async listen(): Promise<number> {
    installUtf8Guard();
    const handler = connectNodeAdapter({
      routes: (router) => {
        this.o.routes(router);
        registerHealth(router, this.health);
        registerReflection(router, this.o.services);
      },
      interceptors: [errorBoundary(this.o.logger), utf8GuardInterceptor()],
      // Connect's type names only the HTTP/1 and HTTP/2 response classes it was built against.
      ...(this.o.fallback && { fallback: this.o.fallback as never }),
      readMaxBytes: this.o.readMaxBytes ?? DEFAULT_READ_MAX_BYTES,
      // Connect gzips any response over 1 KiB a client accepts gzip for; between services on one
      // network that costs more CPU than it saves (measured under the gateway bench: about 5% of
      // retrieval's busy time and 3% of the gateway's), so only large responses are compressed.
      compressMinBytes: COMPRESS_MIN_BYTES,
      // Connect's JSON serialization takes a textDecoder, though the router's type omits it.
      jsonOptions: { ignoreUnknownFields: false, textDecoder: strictJsonTextDecoder } as {
        ignoreUnknownFields: boolean;
      },
    }) as NodeHandler;
    const guarded: NodeHandler = (req, res) => withUtf8Guard(res, () => handler(req, res));
    const h1 = http.createServer(guarded);
    const h2 = http2.createServer({}, guarded);
    h2.on("session", (s) => {
      this.sessions.add(s);
      s.once("close", () => this.sessions.delete(s));
    });
    h1.on("request", (req, res) => this.trackHttp1(req.socket, res));
    const server = createSniffingServer(h1, h2);
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => {
        this.sockets.delete(socket);
        this.h1.delete(socket);
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.o.port, this.o.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.applyReadiness();
    this.unfollow = (this.o.readiness ?? []).map((r) => r.onHealth(() => this.applyReadiness()));
    return this.port;
  }

  /** SERVING while listening and every readiness source is healthy, else NOT_SERVING. */
  private applyReadiness(): void {
    if (!this.server) return;
    const ready = (this.o.readiness ?? []).every((r) => r.isHealthy);
    this.health.setAll(
      ready
        ? HealthCheckResponse_ServingStatus.SERVING
        : HealthCheckResponse_ServingStatus.NOT_SERVING,
    );
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Reports NOT_SERVING, stops accepting, lets open calls finish for up to graceMs. */
  async close(graceMs = 5000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.closing = true;
    for (const stop of this.unfollow) stop();
    this.unfollow = [];
    this.health.setAll(HealthCheckResponse_ServingStatus.NOT_SERVING);
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of this.sessions) s.close();
    // Idle HTTP/1.1 keep-alive connections end now; busy ones after their response.
    for (const [socket, busy] of this.h1) if (busy === 0) socket.end();
    const timer = setTimeout(() => {
      for (const s of this.sessions) s.destroy();
      for (const s of this.sockets) s.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  private trackHttp1(socket: Socket, res: http.ServerResponse): void {
    this.h1.set(socket, (this.h1.get(socket) ?? 0) + 1);
    res.once("close", () => {
      const left = (this.h1.get(socket) ?? 1) - 1;
      this.h1.set(socket, left);
      if (this.closing && left === 0) socket.end();
    });
  }
}

/**
 * Lets ConnectErrors through, turns FieldErrors into INVALID_ARGUMENT, and hides everything else
 * behind a generic INTERNAL (logged without the request).
 */
function errorBoundary(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (err instanceof ConnectError) throw err;
      if (isFieldError(err)) throw new ConnectError(err.message, Code.InvalidArgument);
      logger.error(
        { err, procedure: req.method.name, service: req.service.typeName },
        "rpc failed",
      );
      throw new ConnectError("internal error", Code.Internal);
    }
  };
}
