import { GatewayAdminService, GatewayService } from "@tailor/proto/gateway";
import { RpcServer, type Service } from "@tailor/service";
import type { GatewayConfig } from "./config.js";
import { createContext, type GatewayContext } from "./context.js";

export interface GatewayServiceHandle extends Service {
  readonly ctx: GatewayContext;
  readonly port: number;
}

/** Builds the gateway (skeleton: the RPCs are wired by the RAG and auth parts). */
export async function create(
  config: GatewayConfig,
  overrides: Parameters<typeof createContext>[1] = {},
): Promise<GatewayServiceHandle> {
  const ctx = await createContext(config, overrides);
  const server = new RpcServer({
    host: config.host,
    port: config.port,
    services: [GatewayService, GatewayAdminService],
    logger: ctx.logger,
    readiness: [ctx.relay],
    readMaxBytes: config.readMaxBytes,
    routes: (router) => {
      router.service(GatewayService, {});
      router.service(GatewayAdminService, {});
    },
  });
  let destroyed: Promise<void> | undefined;
  return {
    ctx,
    get port() {
      return server.port;
    },
    async start() {
      ctx.relay.start();
      const port = await server.listen();
      ctx.logger.info({ port }, "inference-gateway listening (connect, grpc, grpc-web, openai)");
    },
    destroy() {
      destroyed ??= (async () => {
        await server.close();
        await ctx.relay.stop();
        await ctx.relay.drain().catch(() => {});
        await ctx.bus.close();
        await ctx.database.destroy();
      })();
      return destroyed;
    },
  };
}
