import { Bus } from "@tailor/bus";
import { EmbedderClient } from "@tailor/clients";
import { RetrievalService } from "@tailor/proto";
import { RpcServer, type Service } from "@tailor/service";
import { createLogger, type Logger } from "@tailor/telemetry";
import { EmbeddedVectorStore, QdrantVectorStore, type VectorStore } from "@tailor/vector";
import { ChunkCatalog } from "./catalog.js";
import type { RetrievalConfig } from "./config.js";
import { IndexState } from "./index-state.js";
import { Indexer } from "./indexer.js";
import { KeywordIndex } from "./keyword/index.js";
import { checkChunks } from "./rpc/check-chunks.js";
import { search } from "./rpc/search.js";
import { stats } from "./rpc/stats.js";
import { Searcher } from "./searcher.js";

export interface RetrievalServiceHandle extends Service {
  readonly port: number;
  readonly searcher: Searcher;
}

/** Builds the retrieval service: embedding events in, RetrievalService.Search out. */
export async function create(
  config: RetrievalConfig,
  o: { logger?: Logger } = {},
): Promise<RetrievalServiceHandle> {
  const logger = o.logger ?? createLogger("retrieval");
  const store: VectorStore = config.qdrantUrl
    ? new QdrantVectorStore({ url: config.qdrantUrl, apiKey: config.qdrantApiKey })
    : new EmbeddedVectorStore({ dir: `${config.indexDir}/vectors` });
  const state = new IndexState(config.indexDir);
  const keyword = new KeywordIndex();
  const catalog = new ChunkCatalog();
  const embedder = new EmbedderClient(config.modelServerUrl, config.model, logger);
  const searcher = new Searcher(store, keyword, catalog, state, embedder, config.hybrid, logger);
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
        search: (req, ctx) => search(searcher, req, ctx.signal),
        checkChunks: (req) => checkChunks(catalog, state.activeVersion, req),
        stats: (req) => stats(catalog, store, state, req),
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
      await store.open();
      await rebuild(store, state, keyword, catalog, logger);
      bus = await Bus.connect({
        url: config.natsUrl,
        auth: config.natsAuth,
        name: "tailor-retrieval",
        prefix: config.busPrefix,
        replicas: config.busReplicas,
        logger,
      });
      indexer = new Indexer(bus, store, keyword, catalog, state, config, logger);
      await indexer.start();
      await server.listen();
      logger.info(
        { port: server.port, backend: config.qdrantUrl ? "qdrant" : "embedded" },
        "retrieval listening",
      );
    },
    destroy() {
      destroyed ??= (async () => {
        await server.close();
        await indexer?.stop();
        await bus?.close();
        await state.flush();
        await store.close();
      })();
      return destroyed;
    },
  };
}

/** Refills the keyword index and catalog from the persisted vectors of the active model version. */
async function rebuild(
  store: VectorStore,
  state: IndexState,
  keyword: KeywordIndex,
  catalog: ChunkCatalog,
  logger: Logger,
): Promise<void> {
  const version = state.activeVersion;
  if (!version) return;
  let n = 0;
  for (const tenant of await store.tenants()) {
    for await (const { id, payload } of store.scan(tenant, version)) {
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
  logger.info({ chunks: n, modelVersion: version }, "keyword index rebuilt from the vector store");
}
