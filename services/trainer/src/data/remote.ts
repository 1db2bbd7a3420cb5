import { setTimeout as sleep } from "node:timers/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { publishArtifact } from "@tailor/artifacts";
import { EmbedderClient, parseEmbedderRef } from "@tailor/clients";
import {
  type EvalSet,
  EvaluatorService,
  type GeneratorSpec,
  IngestionService,
  type Lineage,
  type ListedChunk,
  ModelService,
  type ModelVersion,
  RegistryService,
  RetrievalService,
  type RetrievalSpec,
  type SearchRequestSchema,
  type SearchResponse,
} from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";

/**
 * Everything a job asks of other services. One interface so a test can run the job runner
 * against stand-ins for the services (never for PostgreSQL or NATS).
 */
export interface Remote {
  getEvalSet(
    tenant: string,
    name: string,
    summaryOnly: boolean,
    signal?: AbortSignal,
  ): Promise<EvalSet>;
  /** The tenant's chunks, page by page, ordered by chunk id. */
  listChunks(tenant: string, signal?: AbortSignal): AsyncIterable<ListedChunk[]>;
  getVersion(tenant: string, version: string, signal?: AbortSignal): Promise<ModelVersion>;
  /** The version an alias points at; undefined when the tenant has no such model or alias. */
  resolveAlias(
    tenant: string,
    model: string,
    alias: string,
    signal?: AbortSignal,
  ): Promise<ModelVersion | undefined>;
  search(
    req: MessageInitShape<typeof SearchRequestSchema>,
    signal?: AbortSignal,
  ): Promise<SearchResponse>;
  /** Embeds at exactly `embedder` (`name@version`); row-major vectors. */
  embed(
    embedder: string,
    texts: string[],
    signal?: AbortSignal,
  ): Promise<{ vectors: Float32Array; dimensions: number }>;
  /** Publishes a model folder to the artifact store the model-server reads. */
  publishModel(dir: string, name: string, version: string): Promise<void>;
  /** Loads `name@version` on the model-server, chained after `base` for an adapter. */
  loadModel(name: string, version: string, base: string, signal?: AbortSignal): Promise<string>;
  buildIndexVersion(tenant: string, modelVersion: string, signal?: AbortSignal): Promise<void>;
  /** `spec` is unset for a model that has none (`guard`: its lineage names the artifact). */
  /** Registers a version: `spec` for model retrieval, `generator` for model generator. */
  registerVersion(
    tenant: string,
    model: string,
    spec: RetrievalSpec | undefined,
    lineage: Lineage,
    signal?: AbortSignal,
    generator?: GeneratorSpec,
  ): Promise<ModelVersion>;
  /** Points `prod` at `version` (the previous one can be rolled back to). */
  promote(tenant: string, version: string, reason: string, signal?: AbortSignal): Promise<void>;
  rejectVersion(
    tenant: string,
    version: string,
    reason: string,
    signal?: AbortSignal,
  ): Promise<void>;
}

export interface RemoteOptions {
  urls: {
    retrieval: string;
    ingestion: string;
    registry: string;
    evaluator: string;
    modelServer: string;
  };
  modelDir: string;
  adminToken?: string;
  logger: Logger;
}

/** Codes that mean the other service is not there right now: worth a few more tries. */
const TRANSIENT = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted]);
const ATTEMPTS = 6;

/** The other services over gRPC. Transient failures are retried a few times with backoff. */
export class GrpcRemote implements Remote {
  private readonly evaluator: Client<typeof EvaluatorService>;
  private readonly ingestion: Client<typeof IngestionService>;
  private readonly registry: Client<typeof RegistryService>;
  private readonly retrieval: Client<typeof RetrievalService>;
  private readonly models: Client<typeof ModelService>;
  private readonly embedders = new Map<string, EmbedderClient>();

  constructor(private readonly o: RemoteOptions) {
    const t = (baseUrl: string) => createGrpcTransport({ baseUrl });
    this.evaluator = createClient(EvaluatorService, t(o.urls.evaluator));
    this.ingestion = createClient(IngestionService, t(o.urls.ingestion));
    this.registry = createClient(RegistryService, t(o.urls.registry));
    this.retrieval = createClient(RetrievalService, t(o.urls.retrieval));
    this.models = createClient(ModelService, t(o.urls.modelServer));
  }

  async getEvalSet(tenant: string, name: string, summaryOnly: boolean, signal?: AbortSignal) {
    // A summary answers an RPC caller, who should hear at once that the evaluator is down.
    const r = await this.retry(
      "evaluator",
      signal,
      () => this.evaluator.getEvalSet({ tenant, name, summaryOnly }, { signal, timeoutMs: 60_000 }),
      summaryOnly ? 1 : ATTEMPTS,
    );
    if (!r.evalSet) throw new ConnectError(`eval_set: ${name} not found`, Code.NotFound);
    return r.evalSet;
  }

  async *listChunks(tenant: string, signal?: AbortSignal): AsyncIterable<ListedChunk[]> {
    // A dropped stream resumes after the last chunk received (the stream is keyset-paged).
    let after = "";
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const page of this.ingestion.listChunks(
          { tenant, pageSize: 512, after },
          { signal },
        )) {
          if (page.chunks.length === 0) continue;
          yield page.chunks;
          after = page.chunks[page.chunks.length - 1]!.chunkId;
          attempt = 0;
        }
        return;
      } catch (err) {
        const ce = ConnectError.from(err);
        if (signal?.aborted || !TRANSIENT.has(ce.code) || attempt >= ATTEMPTS) throw ce;
        await this.backoff("ingestion", attempt, ce, signal);
      }
    }
  }

  async getVersion(tenant: string, version: string, signal?: AbortSignal) {
    const r = await this.retry("registry", signal, () =>
      this.registry.getVersion({ tenant, version }, { signal, timeoutMs: 30_000 }),
    );
    if (!r.version) throw new ConnectError(`base_version: ${version} not found`, Code.NotFound);
    return r.version;
  }

  async resolveAlias(tenant: string, model: string, alias: string, signal?: AbortSignal) {
    try {
      const r = await this.retry("registry", signal, () =>
        this.registry.resolveAlias({ tenant, model, alias }, { signal, timeoutMs: 30_000 }),
      );
      return r.version;
    } catch (err) {
      if (ConnectError.from(err).code === Code.NotFound) return undefined;
      throw err;
    }
  }

  search(req: MessageInitShape<typeof SearchRequestSchema>, signal?: AbortSignal) {
    return this.retry("retrieval", signal, () =>
      this.retrieval.search(req, { signal, timeoutMs: 60_000 }),
    );
  }

  async embed(embedder: string, texts: string[], signal?: AbortSignal) {
    let client = this.embedders.get(embedder);
    if (!client) {
      const ref = parseEmbedderRef(embedder);
      if (typeof ref === "string" || !ref.version)
        throw new ConnectError(`embedder ${embedder} is not name@version`, Code.FailedPrecondition);
      client = new EmbedderClient(this.o.urls.modelServer, ref.model, this.o.logger, ref.version);
      this.embedders.set(embedder, client);
    }
    const r = await client.embed(texts, { signal });
    return { vectors: r.vectors, dimensions: r.dimensions };
  }

  async publishModel(dir: string, name: string, version: string): Promise<void> {
    await publishArtifact(dir, name, version, { root: this.o.modelDir });
  }

  async loadModel(name: string, version: string, base: string, signal?: AbortSignal) {
    const headers: Record<string, string> = this.o.adminToken
      ? { authorization: `Bearer ${this.o.adminToken}` }
      : {};
    const r = await this.retry("model-server", signal, () =>
      this.models.loadModel({ name, version, base }, { signal, headers, timeoutMs: 300_000 }),
    );
    return `${r.model?.name ?? name}@${r.model?.version ?? version}`;
  }

  async buildIndexVersion(tenant: string, modelVersion: string, signal?: AbortSignal) {
    // Re-embedding a corpus takes a while: wait for it, calling again if a call times out (the
    // build goes on server-side and a second call picks it up).
    for (;;) {
      const r = await this.retry("retrieval", signal, () =>
        this.retrieval.buildIndexVersion(
          { tenant, modelVersion, wait: true },
          { signal, timeoutMs: 3_600_000 },
        ),
      );
      if (r.done) return;
      await sleep(1000, undefined, { signal });
    }
  }

  async registerVersion(
    tenant: string,
    model: string,
    spec: RetrievalSpec | undefined,
    lineage: Lineage,
    signal?: AbortSignal,
    generator?: GeneratorSpec,
  ) {
    const r = await this.retry("registry", signal, () =>
      this.registry.registerVersion(
        { tenant, model, spec, lineage, generator },
        { signal, timeoutMs: 30_000 },
      ),
    );
    if (!r.version) throw new ConnectError("registry returned no version", Code.Internal);
    return r.version;
  }

  async promote(tenant: string, version: string, reason: string, signal?: AbortSignal) {
    await this.retry("registry", signal, () =>
      this.registry.promote(
        { tenant, version, alias: "prod", reason },
        { signal, timeoutMs: 30_000 },
      ),
    );
  }

  async rejectVersion(tenant: string, version: string, reason: string, signal?: AbortSignal) {
    await this.retry("registry", signal, () =>
      this.registry.reject({ tenant, version, reason }, { signal, timeoutMs: 30_000 }),
    );
  }

  private async retry<T>(
    service: string,
    signal: AbortSignal | undefined,
    call: () => Promise<T>,
    attempts = ATTEMPTS,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const ce = ConnectError.from(err);
        if (signal?.aborted || !TRANSIENT.has(ce.code) || attempt >= attempts) throw ce;
        await this.backoff(service, attempt, ce, signal);
      }
    }
  }

  private async backoff(service: string, attempt: number, ce: ConnectError, signal?: AbortSignal) {
    const delay = Math.min(10_000, 250 * 2 ** attempt);
    this.o.logger.warn({ service, code: Code[ce.code], attempt, delay }, "call failed; retrying");
    await sleep(delay, undefined, { signal });
  }
}
