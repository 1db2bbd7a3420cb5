import { setTimeout as delay } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Bus } from "@tailor/bus";
import { formatEmbedderRef, resolveEmbedder } from "@tailor/clients";
import { KeywordIndex } from "@tailor/keyword";
import { IngestionService, RegistryService, RetrievalService } from "@tailor/proto";
import { RpcServer, type Service } from "@tailor/service";
import { createLogger, type Logger } from "@tailor/telemetry";
import { EmbeddedVectorStore, QdrantVectorStore, type VectorStore } from "@tailor/vector";
import { ChunkCatalog } from "./catalog.js";
import type { IndexBuildConfig, RetrievalConfig } from "./config.js";
import { IndexBuilder } from "./index-builder.js";
import { IndexState } from "./index-state.js";
import { indexVersions } from "./index-versions.js";
import { Indexer } from "./indexer.js";
import { buildIndexVersion } from "./rpc/build-index-version.js";
import { checkChunks } from "./rpc/check-chunks.js";
import { dropIndexVersion } from "./rpc/drop-index-version.js";
import { search } from "./rpc/search.js";
import { stats } from "./rpc/stats.js";
import { Searcher } from "./searcher.js";
import { createVersions } from "./versions/versions.js";

export interface RetrievalServiceHandle extends Service {
  readonly port: number;
  readonly searcher: Searcher;
}

/** Builds the retrieval service: embedding events in, RetrievalService.Search out. */
export async function create(
  config: RetrievalConfig,
  o: {
    logger?: Logger;
    /** Index version builds; default from TAILOR_INGESTION_URL and TAILOR_RETRIEVAL_BUILD_*. */
    indexBuild?: IndexBuildConfig;
  } = {},
): Promise<RetrievalServiceHandle> {
  const logger = o.logger ?? createLogger("retrieval");
  const store: VectorStore = config.qdrantUrl
    ? new QdrantVectorStore({ url: config.qdrantUrl, apiKey: config.qdrantApiKey })
    : new EmbeddedVectorStore({ dir: `${config.indexDir}/vectors` });
  const state = new IndexState(config.indexDir);
  const keyword = new KeywordIndex();
  const catalog = new ChunkCatalog();
  const indexBuild = o.indexBuild ?? config.indexBuild;
  const builder = new IndexBuilder(
    store,
    state,
    catalog,
    createClient(IngestionService, createGrpcTransport({ baseUrl: indexBuild.ingestionUrl })),
    config.modelServerUrl,
    indexBuild,
    logger,
  );
  const drops = {
    store,
    state,
    builder,
    registry: createClient(RegistryService, createGrpcTransport({ baseUrl: config.registry.url })),
    registryTimeoutMs: config.registry.timeoutMs,
    logger,
  };
  const searcher = new Searcher(store, keyword, catalog, state, config.modelServerUrl, logger);
  const versions = createVersions(config, state, logger, {
    hasData: (tenant) => catalog.chunks(tenant) > 0,
  });
  const abort = new AbortController();
  let bus: Bus | undefined;
  let indexer: Indexer | undefined;
  const server = new RpcServer({
    host: config.host,
    port: config.port,
    services: [RetrievalService],
    logger,
    // Requests are a query and a few filters: refuse a large body before reading it.
    readMaxBytes: 1024 * 1024,
    routes: (router) =>
      router.service(RetrievalService, {
        search: (req, ctx) =>
          search(
            { searcher, resolver: versions.resolver, defaults: config.hybrid },
            req,
            ctx.signal,
          ),
        checkChunks: (req) => checkChunks(catalog, store, state.servedVersion(req.tenant), req),
        stats: (req) => stats(catalog, store, state, req),
        buildIndexVersion: (req) => buildIndexVersion(builder, req),
        dropIndexVersion: (req) => dropIndexVersion(drops, req),
      }),
  });
  let destroyed: Promise<void> | undefined;
  return {
    searcher,
    get port() {
      return server.port;
    },
    async start() {
      await state.open();
      // The default index version is resolved once: a version the model-server loads later is
      // served only when it is named (config or a tenant's override), never by drift. Keyword
      // search must not wait for the model-server, so a slow answer is awaited in the background
      // (dense search answers UNAVAILABLE and hybrid degrades to keyword until it comes).
      const resolved = resolveEmbedder(config.modelServerUrl, config.embedder, logger, abort.signal)
        .then((ref) => {
          state.defaultVersion = formatEmbedderRef(ref);
          logger.info({ servedByDefault: state.defaultVersion }, "default index version resolved");
        })
        .catch((err: unknown) => {
          if (!abort.signal.aborted)
            logger.error({ err }, "the default index version could not be resolved");
        });
      await Promise.race([resolved, delay(5000, undefined, { signal: abort.signal })]).catch(
        () => {},
      );
      await store.open();
      await rebuild(store, keyword, catalog, logger);
      bus = await Bus.connect({
        url: config.natsUrl,
        auth: config.natsAuth,
        name: "tailor-retrieval",
        prefix: config.busPrefix,
        replicas: config.busReplicas,
        logger,
      });
      indexer = new Indexer(bus, store, keyword, catalog, state, config, logger, (t, v, r) =>
        builder.mirror(t, v, r),
      );
      await indexer.start();
      await versions.follow(bus);
      await server.listen();
      logger.info(
        {
          port: server.port,
          backend: config.qdrantUrl ? "qdrant" : "embedded",
          servedByDefault: state.defaultVersion,
        },
        "retrieval listening",
      );
    },
    destroy() {
      destroyed ??= (async () => {
        abort.abort();
        await server.close();
        await builder.stop();
        await indexer?.stop();
        await versions.stop();
        await bus?.close();
        await state.flush();
        await store.close();
      })();
      return destroyed;
    },
  };
}

/** Refills the keyword index and catalog from the persisted vectors of every index version. */
async function rebuild(
  store: VectorStore,
  keyword: KeywordIndex,
  catalog: ChunkCatalog,
  logger: Logger,
): Promise<void> {
  let n = 0;
  for (const tenant of await store.tenants()) {
    for (const version of (await indexVersions(store, tenant)).keys()) {
      for await (const { id, payload } of store.scan(tenant, version)) {
        // The same chunk in two index versions is one chunk for keyword search.
        if (catalog.get(tenant, id)) continue;
        keyword.add(tenant, id, {
          title: payload.title,
          text: payload.text,
          source: payload.source,
          metadata: payload.metadata,
        });
        catalog.put(tenant, id, payload);
        n++;
      }
    }
  }
  logger.info({ chunks: n }, "keyword index rebuilt from the vector store");
}
