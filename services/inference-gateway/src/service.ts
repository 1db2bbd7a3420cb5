import { ModelEventFollower } from "@tailor/bus";
import { GatewayAdminService, GatewayService } from "@tailor/proto/gateway";
import { RpcServer, type Service } from "@tailor/service";
import { createAuth } from "./auth/index.js";
import type { GatewayConfig } from "./config.js";
import { createContext, type GatewayContext } from "./context.js";
import { createGenerator } from "./generators/index.js";
import { createOpenAiHandler } from "./openai/index.js";
import { RagOrchestrator } from "./rag/orchestrator.js";
import { streamOutput } from "./rag/output.js";
import { RegistryRoutes } from "./rag/routes.js";
import { ask } from "./rpc/ask.js";
import { chat } from "./rpc/chat.js";
import type { GatewayDeps } from "./rpc/deps.js";
import { listModels } from "./rpc/list-models.js";
import { search } from "./rpc/search.js";
import { submitFeedback } from "./rpc/submit-feedback.js";

export interface GatewayServiceHandle extends Service {
  readonly ctx: GatewayContext;
  readonly port: number;
}

/**
 * Builds the gateway: GatewayService (keys and limits on every call, routes followed from the
 * MODEL stream, RAG orchestration), GatewayAdminService, the OpenAI-compatible HTTP surface on
 * the same port, and the outbox relay of interaction and feedback events.
 */
export async function create(
  config: GatewayConfig,
  overrides: Parameters<typeof createContext>[1] & {
    /** Where `openai` generators find the upstream key their spec names (main passes process.env). */
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<GatewayServiceHandle> {
  const ctx = await createContext(config, overrides);
  const auth = createAuth(ctx);
  const generatorDeps = { models: ctx.models, logger: ctx.logger, env: overrides.env ?? {} };
  const routes = new RegistryRoutes(ctx.registry, {
    makeGenerator: (spec, version) => createGenerator(spec, version, generatorDeps),
    logger: ctx.logger,
  });
  const follower = new ModelEventFollower(ctx.bus, routes, ctx.logger, "route");
  const orchestrator = new RagOrchestrator({
    ctx,
    routes,
    limiter: auth.limiter,
    streamOutput: streamOutput(ctx, config.holdBackChars),
  });
  const deps: GatewayDeps = {
    ctx,
    authenticator: auth.authenticator,
    limiter: auth.limiter,
    orchestrator,
    routes,
  };
  const server = new RpcServer({
    host: config.host,
    port: config.port,
    services: [GatewayService, GatewayAdminService],
    logger: ctx.logger,
    // Interactions and feedback that never reach the bus are lost to evaluation: say so in health.
    readiness: [ctx.relay],
    readMaxBytes: config.readMaxBytes,
    fallback: createOpenAiHandler({
      authenticator: auth.authenticator,
      limiter: auth.limiter,
      orchestrator,
      routes,
      ctx,
    }),
    routes: (router) => {
      router.service(GatewayService, {
        ask: (req, hc) => ask(deps, req, hc),
        chat: (req, hc) => chat(deps, req, hc),
        search: (req, hc) => search(deps, req, hc),
        submitFeedback: (req, hc) => submitFeedback(deps, req, hc),
        listModels: (_req, hc) => listModels(deps, hc),
      });
      router.service(GatewayAdminService, auth.admin);
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
      await follower.start();
      const port = await server.listen();
      ctx.logger.info({ port }, "inference-gateway listening (connect, grpc, grpc-web, openai)");
    },
    destroy() {
      destroyed ??= (async () => {
        await server.close();
        await follower.stop();
        await routes.close();
        await auth.close();
        await ctx.relay.stop();
        await ctx.relay.drain().catch(() => {});
        await ctx.bus.close();
        await ctx.database.destroy();
      })();
      return destroyed;
    },
  };
}
