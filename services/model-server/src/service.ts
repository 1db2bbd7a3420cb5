import { create as createMessage } from "@bufbuild/protobuf";
import { buildGloveModel } from "@tailor/models";
import { ListModelsResponseSchema, ModelService } from "@tailor/proto";
import { RpcServer, type Service } from "@tailor/service";
import { createLogger, type Logger } from "@tailor/telemetry";
import type { ModelServerConfig } from "./config.js";
import { BatchedEmbedder } from "./embedder-pool.js";
import { ModelRegistry } from "./registry.js";
import { embed } from "./rpc/embed.js";
import { OnnxEmbedder } from "./runtime/embedder.js";
import { chooseExecutionProvider } from "./runtime/execution-provider.js";

export interface ModelServerHandle extends Service {
  readonly port: number;
  readonly registry: ModelRegistry;
}

/** Builds the model-server: ONNX Runtime sessions behind dynamic batching, served as ModelService. */
export async function create(
  config: ModelServerConfig,
  o: { logger?: Logger } = {},
): Promise<ModelServerHandle> {
  const logger = o.logger ?? createLogger("model-server");
  const registry = new ModelRegistry();
  const server = new RpcServer({
    host: config.host,
    port: config.port,
    services: [ModelService],
    logger,
    routes: (router) =>
      router.service(ModelService, {
        embed: (req, ctx) =>
          embed(registry, req, { signal: ctx.signal, timeoutMs: ctx.timeoutMs() }),
        listModels: async () =>
          createMessage(ListModelsResponseSchema, { models: registry.list() }),
      }),
  });
  let destroyed: Promise<void> | undefined;
  return {
    registry,
    get port() {
      return server.port;
    },
    async start() {
      const ep = chooseExecutionProvider(config.executionProvider, logger);
      const started = Date.now();
      const files = await buildGloveModel({
        outDir: config.modelDir,
        maxVocab: config.gloveMaxVocab || undefined,
      });
      logger.info(
        { built: files.built, ms: Date.now() - started, dir: files.dir },
        "default embedder ready on disk",
      );
      const model = await OnnxEmbedder.load(files.dir, {
        executionProvider: ep,
        intraOpThreads: config.intraOpThreads || undefined,
        interOpThreads: config.interOpThreads || undefined,
        maxTokens: config.maxTokens,
      });
      registry.addEmbedder(new BatchedEmbedder(model, config.batch), true);
      await server.listen();
      logger.info(
        { port: server.port, executionProvider: ep, model: model.name, version: model.version },
        "model-server listening",
      );
    },
    destroy() {
      destroyed ??= (async () => {
        await server.close();
        await registry.closeAll();
      })();
      return destroyed;
    },
  };
}
