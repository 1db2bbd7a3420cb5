import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { HealthCheckResponse_ServingStatus } from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";
import { HealthStatus, registerHealth } from "./health.js";
import { registerReflection } from "./reflection.js";

export interface RpcServerOptions {
  host: string;
  port: number;
  /** The Tailor services this server implements (for health and reflection). */
  services: DescService[];
  routes: (router: ConnectRouter) => void;
  logger: Logger;
  /** Largest request body accepted, in bytes. */
  readMaxBytes?: number;
}

/**
 * One HTTP/2 (h2c) port that speaks Connect, gRPC and gRPC-Web, with grpc.health.v1 and
 * server reflection. Unexpected errors reach the client as INTERNAL without internals.
 */
export class RpcServer {
  readonly health: HealthStatus;
  private server?: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(private readonly o: RpcServerOptions) {
    this.health = new HealthStatus(
      o.services.map((s) => s.typeName),
      HealthCheckResponse_ServingStatus.NOT_SERVING,
    );
  }

  async listen(): Promise<number> {
    const handler = connectNodeAdapter({
      routes: (router) => {
        this.o.routes(router);
        registerHealth(router, this.health);
        registerReflection(router, this.o.services);
      },
      interceptors: [errorBoundary(this.o.logger)],
      readMaxBytes: this.o.readMaxBytes ?? 64 * 1024 * 1024,
    });
    const server = http2.createServer({}, handler);
    server.on("session", (s) => {
      this.sessions.add(s);
      s.once("close", () => this.sessions.delete(s));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.o.port, this.o.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.health.setAll(HealthCheckResponse_ServingStatus.SERVING);
    return this.port;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Reports NOT_SERVING, stops accepting, lets open calls finish for up to graceMs. */
  async close(graceMs = 5000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.health.setAll(HealthCheckResponse_ServingStatus.NOT_SERVING);
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of this.sessions) s.close();
    const timer = setTimeout(() => {
      for (const s of this.sessions) s.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }
}

/** Lets ConnectErrors through and hides everything else behind a generic INTERNAL. */
function errorBoundary(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (err instanceof ConnectError) throw err;
      logger.error(
        { err, procedure: req.method.name, service: req.service.typeName },
        "rpc failed",
      );
      throw new ConnectError("internal error", Code.Internal);
    }
  };
}
