import {
  type ArtifactStore,
  LocalArtifactStore,
  ObjectStoreArtifactStore,
  openArtifactBucket,
} from "@tailor/artifacts";
import { Bus } from "@tailor/bus";
import { buildGloveModel } from "@tailor/models";
import { ModelService } from "@tailor/proto";
import { RpcServer, type Service } from "@tailor/service";
import { createLogger, type Logger } from "@tailor/telemetry";
import type { ModelServerConfig } from "./config.js";
import { ModelRegistry } from "./registry.js";
import { requireAdmin } from "./rpc/admin-auth.js";
import { classify } from "./rpc/classify.js";
import { embed } from "./rpc/embed.js";
import { generate } from "./rpc/generate.js";
import { listModels } from "./rpc/list-models.js";
import { loadModel } from "./rpc/load-model.js";
import { rerank } from "./rpc/rerank.js";
import { tokenize } from "./rpc/tokenize.js";
import { unloadModel } from "./rpc/unload-model.js";
import { OnnxEmbedder } from "./runtime/embedder.js";
import { chooseExecutionProvider, type ExecutionProvider } from "./runtime/execution-provider.js";
import { serveGlove } from "./served-model.js";

export interface ModelServerHandle extends Service {
  readonly port: number;
  readonly registry: ModelRegistry;
}

/** Overrides for tests and embedding. */
export interface ModelServerOverrides {
  logger?: Logger;
  /** Replaces the store the config describes (local directory or Object Store bucket). */
  store?: ArtifactStore;
}

/**
 * Builds the model-server: embedders, rerankers, classifiers and causal LMs on ONNX Runtime,
 * loaded from the artifact store, behind dynamic batching, served as ModelService.
 */
export async function create(
  config: ModelServerConfig,
  o: ModelServerOverrides = {},
): Promise<ModelServerHandle> {
  const logger = o.logger ?? createLogger("model-server");
  let bus: Bus | undefined;
  // The bucket store needs a NATS connection, made in start(); until then nothing loads.
  let store: ArtifactStore = o.store ?? new LocalArtifactStore(config.modelDir);
  let ep: ExecutionProvider = "cpu";
  const registry = new ModelRegistry({
    store: { resolve: (name, version) => store.resolve(name, version) },
    get executionProvider() {
      return ep;
    },
    ...(config.intraOpThreads > 0 && { intraOpThreads: config.intraOpThreads }),
    ...(config.interOpThreads > 0 && { interOpThreads: config.interOpThreads }),
    batch: config.batch,
    generation: config.generation,
    logger,
  });
  const server = new RpcServer({
    host: config.host,
    port: config.port,
    services: [ModelService],
    logger,
    // Embed and Rerank batches of long texts; anything larger is refused before it is buffered.
    readMaxBytes: 32 * 1024 * 1024,
    routes: (router) =>
      router.service(ModelService, {
        embed: (req, ctx) => embed(registry, req, ctx),
        rerank: (req, ctx) => rerank(registry, req, ctx),
        classify: (req, ctx) => classify(registry, req, ctx),
        generate: (req, ctx) => generate(registry, req, ctx),
        tokenize: (req) => tokenize(registry, req),
        listModels: async () => listModels(registry),
        loadModel: (req, ctx) => {
          requireAdmin(config.admin, ctx);
          return loadModel(registry, req);
        },
        unloadModel: (req, ctx) => {
          requireAdmin(config.admin, ctx);
          return unloadModel(registry, req);
        },
      }),
  });
  let destroyed: Promise<void> | undefined;
  return {
    registry,
    get port() {
      return server.port;
    },
    async start() {
      ep = chooseExecutionProvider(config.executionProvider, logger);
      if (!o.store && config.artifactBucket) {
        bus = await Bus.connect({
          url: config.natsUrl,
          auth: config.natsAuth,
          name: "model-server",
          prefix: config.busPrefix,
          replicas: config.busReplicas,
          logger,
        });
        const os = await openArtifactBucket(bus.js, config.artifactBucket);
        store = new ObjectStoreArtifactStore(os, config.modelDir);
      }
      if (config.defaultEmbedder === "glove") {
        await loadGlove(config, ep, registry, logger);
      }
      for (const ref of config.preload) await registry.load(ref.name, ref.version);
      if (typeof config.defaultEmbedder === "object") {
        const { name, version } = config.defaultEmbedder;
        await registry.load(name, version);
        registry.setDefaultEmbedder(name);
      }
      await server.listen();
      logger.info(
        {
          port: server.port,
          executionProvider: ep,
          models: registry.list().map((m) => `${m.name}@${m.version}`),
        },
        "model-server listening",
      );
    },
    destroy() {
      destroyed ??= (async () => {
        await server.close();
        await registry.closeAll();
        await bus?.close();
      })();
      return destroyed;
    },
  };
}

async function loadGlove(
  config: ModelServerConfig,
  ep: ExecutionProvider,
  registry: ModelRegistry,
  logger: Logger,
): Promise<void> {
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
    ...(config.intraOpThreads > 0 && { intraOpThreads: config.intraOpThreads }),
    ...(config.interOpThreads > 0 && { interOpThreads: config.interOpThreads }),
    maxTokens: config.maxTokens,
  });
  registry.add(serveGlove(model, config.batch), true);
}
