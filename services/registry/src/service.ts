import { RegistryService } from "@tailor/proto";
import { RpcServer, type Service } from "@tailor/service";
import type { RegistryConfig } from "./config.js";
import { createContext, type RegistryContext } from "./context.js";
import { attachReport } from "./rpc/attach-report.js";
import { ensureBase } from "./rpc/ensure-base.js";
import { getVersion } from "./rpc/get-version.js";
import { listRegisteredModels } from "./rpc/list-models.js";
import { listVersions } from "./rpc/list-versions.js";
import { promote } from "./rpc/promote.js";
import { registerVersion } from "./rpc/register-version.js";
import { reject } from "./rpc/reject.js";
import { resolveAlias } from "./rpc/resolve-alias.js";
import { rollback } from "./rpc/rollback.js";

/** Requests are specs and names: a few MB is room for hostile input to reach validation. */
const READ_MAX_BYTES = 4 * 1024 * 1024;

export interface RegistryServiceHandle extends Service {
  readonly ctx: RegistryContext;
  readonly port: number;
}

/** Builds the registry: its outbox relay and the RegistryService RPCs. */
export async function create(
  config: RegistryConfig,
  overrides: Parameters<typeof createContext>[1] = {},
): Promise<RegistryServiceHandle> {
  const ctx = await createContext(config, overrides);
  const server = new RpcServer({
    host: config.host,
    port: config.port,
    services: [RegistryService],
    logger: ctx.logger,
    // Promotions that never reach the bus leave retrieval serving the old alias: say so in health.
    readiness: [ctx.relay],
    readMaxBytes: READ_MAX_BYTES,
    routes: (router) =>
      router.service(RegistryService, {
        registerVersion: (req) => registerVersion(ctx, req),
        ensureBase: (req) => ensureBase(ctx, req),
        getVersion: (req) => getVersion(ctx, req),
        resolveAlias: (req) => resolveAlias(ctx, req),
        listRegisteredModels: (req) => listRegisteredModels(ctx, req),
        listVersions: (req) => listVersions(ctx, req),
        promote: (req) => promote(ctx, req),
        rollback: (req) => rollback(ctx, req),
        reject: (req) => reject(ctx, req),
        attachReport: (req) => attachReport(ctx, req),
      }),
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
      ctx.logger.info({ port }, "registry listening (connect, grpc, grpc-web)");
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
