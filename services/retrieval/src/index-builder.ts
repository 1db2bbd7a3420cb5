import { setTimeout as sleep } from "node:timers/promises";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { EmbedderClient, type EmbedResult, parseEmbedderRef } from "@tailor/clients";
import type { IngestionService, ListedChunk } from "@tailor/proto";
import type { Logger } from "@tailor/telemetry";
import type { ChunkPayload, VectorRecord, VectorStore } from "@tailor/vector";
import type { ChunkCatalog } from "./catalog.js";
import type { IndexBuildConfig } from "./config.js";
import type { IndexState, IndexVersionRecord } from "./index-state.js";

/** Where one tenant's index version stands: `vectors` of `chunks` done. */
export interface BuildStatus {
  modelVersion: string;
  vectors: number;
  /** The chunks the tenant has indexed (what a finished version holds a vector of each). */
  chunks: number;
  done: boolean;
}

interface Job {
  readonly promise: Promise<void>;
  readonly abort: AbortController;
}

interface Item {
  id: string;
  payload: ChunkPayload;
}

/** Codes that mean "the model-server is not there right now". */
const TRANSIENT = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted]);
/** Attempts of one re-embedding for a live version before it is marked stale. */
const MIRROR_ATTEMPTS = 3;
/** Deadline of one such attempt. */
const MIRROR_TIMEOUT_MS = 5000;

/**
 * The text a chunk's vector is made from. Must stay what services/embedding embeds
 * (chunk-consumer.ts), or a built version would hold other vectors than the served one does.
 */
function embeddingText(title: string, text: string): string {
  return title ? `${title}\n${text}` : text;
}

/**
 * Builds a tenant's index at another embedder version beside the one the embedding events fill,
 * by re-embedding its chunks as ingestion lists them, and keeps every such version current: what
 * the events bring at their own version is re-embedded at each built version of the tenant.
 * Vectors of a version are only ever made by that exact embedder version.
 */
export class IndexBuilder {
  private readonly jobs = new Map<string, Job>();
  private readonly embedders = new Map<string, EmbedderClient>();
  private stopped = false;

  constructor(
    private readonly store: VectorStore,
    private readonly state: IndexState,
    private readonly catalog: ChunkCatalog,
    private readonly ingestion: Client<typeof IngestionService>,
    private readonly modelServerUrl: string,
    private readonly config: IndexBuildConfig,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts (or resumes, or joins) the build of `version` for `tenant`; waits for it when `wait`.
   * A version already built is left as it is. Refused with FAILED_PRECONDITION for the version the
   * tenant is served at (the events keep that one) and for a version the model-server lacks.
   */
  async build(tenant: string, version: string, wait: boolean): Promise<BuildStatus> {
    if (this.stopped) throw new ConnectError("retrieval is shutting down", Code.Unavailable);
    // Until the model-server has named the default version, the served one is unknown: building
    // now might build the served version beside itself.
    if (!this.state.servedVersion(tenant))
      throw new ConnectError(
        `the version tenant ${tenant} is served at is not known yet (the model-server has not answered since retrieval started); retry`,
        Code.Unavailable,
      );
    if (version === this.state.servedVersion(tenant))
      throw new ConnectError(
        `model_version: ${version} is the version tenant ${tenant} is served at; the embedding events keep it current`,
        Code.FailedPrecondition,
      );
    const k = jobKey(tenant, version);
    let job = this.jobs.get(k);
    if (!job) {
      const rec = this.state.indexVersion(tenant, version);
      if (rec?.status === "live" && !rec.stale) return this.status(tenant, version);
      await this.probe(version);
      // A concurrent call may have started it while this one probed.
      job = this.jobs.get(k) ?? this.start(tenant, version);
    }
    if (wait) await job.promise;
    return this.status(tenant, version);
  }

  async status(tenant: string, version: string): Promise<BuildStatus> {
    const rec = this.state.indexVersion(tenant, version);
    return {
      modelVersion: version,
      vectors: await this.store.count(tenant, version),
      chunks: this.catalog.chunks(tenant),
      done: rec?.status === "live" && !rec.stale && !this.jobs.has(jobKey(tenant, version)),
    };
  }

  /** Stops a running build of `version` (before its vectors are dropped) and waits for it to end. */
  async cancel(tenant: string, version: string): Promise<void> {
    const job = this.jobs.get(jobKey(tenant, version));
    if (!job) return;
    job.abort.abort(new ConnectError(`the build of ${version} was cancelled`, Code.Aborted));
    await job.promise.catch(() => {});
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const jobs = [...this.jobs.values()];
    for (const j of jobs) j.abort.abort(new ConnectError("retrieval stopped", Code.Aborted));
    await Promise.all(jobs.map((j) => j.promise.catch(() => {})));
  }

  /**
   * Re-embeds records the events brought at `eventVersion` at every other index version of the
   * tenant. A version whose embedder cannot answer is marked stale (a new build repairs it)
   * rather than holding up the served index, which never waits for a side version.
   */
  async mirror(tenant: string, eventVersion: string, records: VectorRecord[]): Promise<void> {
    if (records.length === 0) return;
    for (const [version, rec] of this.state.indexVersionsOf(tenant)) {
      if (version === eventVersion || rec.stale) continue;
      const items = records.map((r) => ({
        id: r.id,
        payload: { ...r.payload, modelVersion: version },
      }));
      try {
        await this.embedAndUpsert(tenant, version, items, { retry: false });
      } catch (err) {
        this.logger.error(
          { err, tenant, modelVersion: version, chunks: items.length },
          "could not keep an index version current; it is stale until built again",
        );
        const now = this.state.indexVersion(tenant, version);
        if (now)
          await this.state
            .putIndexVersion(tenant, version, { ...now, stale: true })
            .catch((e: unknown) => this.logger.error({ err: e }, "could not mark it stale"));
      }
    }
  }

  private start(tenant: string, version: string): Job {
    const abort = new AbortController();
    const k = jobKey(tenant, version);
    const promise = this.run(tenant, version, abort.signal).finally(() => this.jobs.delete(k));
    // A caller that did not wait learns of a failure through Stats and its next call; say why here.
    promise.catch((err: unknown) => {
      if (!abort.signal.aborted)
        this.logger.error({ err, tenant, modelVersion: version }, "index version build failed");
    });
    const job = { promise, abort };
    this.jobs.set(k, job);
    return job;
  }

  private async run(tenant: string, version: string, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const rec = this.state.indexVersion(tenant, version);
    // A stale version missed changes anywhere in the order: only a full pass repairs it.
    const after = rec?.status === "building" && !rec.stale ? rec.after : "";
    await this.put(tenant, version, { status: "building", after, stale: false });
    let done = 0;
    const stream = this.ingestion.listChunks(
      { tenant, after, pageSize: this.config.pageSize },
      { signal },
    );
    for await (const page of stream) {
      const items = page.chunks.map((c) => this.itemOf(tenant, version, c));
      await this.embedAndUpsert(tenant, version, items, { retry: true, signal });
      await this.store.flush();
      const last = page.chunks[page.chunks.length - 1];
      // The cursor moves only past vectors that are durable: a restart resumes there.
      if (last) await this.put(tenant, version, { status: "building", after: last.chunkId });
      done += page.chunks.length;
    }
    signal.throwIfAborted();
    await this.put(tenant, version, { status: "live", after: "" });
    this.logger.info(
      { tenant, modelVersion: version, chunks: done, ms: Math.round(performance.now() - started) },
      "index version built",
    );
  }

  /** Updates the record, keeping a stale mark the mirror set meanwhile (unless `stale` is given). */
  private async put(
    tenant: string,
    version: string,
    rec: Omit<IndexVersionRecord, "stale"> & { stale?: boolean },
  ): Promise<void> {
    const stale = rec.stale ?? this.state.indexVersion(tenant, version)?.stale ?? false;
    await this.state.putIndexVersion(tenant, version, { ...rec, stale });
  }

  /** The payload the indexer would write for this chunk, at `version`. */
  private itemOf(tenant: string, version: string, c: ListedChunk): Item {
    const known = this.catalog.get(tenant, c.chunkId);
    return {
      id: c.chunkId,
      payload: {
        tenant,
        source: c.source,
        documentId: c.documentId,
        title: c.title,
        text: c.text,
        index: c.index,
        metadata: { ...c.metadata },
        // ListChunks does not carry the revision; the event-indexed copy of the chunk does.
        revision: known?.revision ?? 0,
        modelVersion: version,
      },
    };
  }

  private async embedAndUpsert(
    tenant: string,
    version: string,
    items: Item[],
    o: { retry: boolean; signal?: AbortSignal },
  ): Promise<void> {
    const client = this.embedderAt(version);
    for (let off = 0; off < items.length; off += this.config.embedBatch) {
      const slice = items.slice(off, off + this.config.embedBatch);
      const texts = slice.map((i) => embeddingText(i.payload.title, i.payload.text));
      const r = o.retry
        ? await client.embed(texts, { ...(o.signal && { signal: o.signal }) })
        : await this.embedBriefly(client, texts);
      const d = r.dimensions;
      // Checked again just before writing: a chunk deleted meanwhile stays deleted, and a
      // version dropped (or a build cancelled) meanwhile gets nothing more.
      o.signal?.throwIfAborted();
      if (!this.state.indexVersion(tenant, version)) return;
      const records: VectorRecord[] = [];
      slice.forEach((item, i) => {
        if (this.state.isDeleted(item.id)) return;
        records.push({ ...item, vector: r.vectors.subarray(i * d, (i + 1) * d) });
      });
      await this.store.upsert(tenant, version, records);
    }
  }

  /** A few quick tries, for the event path that must not wait long for a side version. */
  private async embedBriefly(client: EmbedderClient, texts: string[]): Promise<EmbedResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        // Bounded: the indexer's batch (and its ack deadline) waits for this.
        return await client.embedOnce(texts, AbortSignal.timeout(MIRROR_TIMEOUT_MS));
      } catch (err) {
        const ce = ConnectError.from(err);
        if (attempt >= MIRROR_ATTEMPTS || !TRANSIENT.has(ce.code)) throw ce;
        await sleep(200 * attempt);
      }
    }
  }

  /** FAILED_PRECONDITION naming the version when the model-server cannot embed at exactly it. */
  private async probe(version: string): Promise<void> {
    try {
      await this.embedderAt(version).embedOnce(["index version probe"]);
    } catch (err) {
      const ce = ConnectError.from(err);
      if (ce.code === Code.NotFound || ce.code === Code.FailedPrecondition)
        throw new ConnectError(
          `model_version: the model-server has no embedder ${version} (load it with LoadModel first)`,
          Code.FailedPrecondition,
        );
      if (TRANSIENT.has(ce.code) || ce.code === Code.Unknown || ce.code === Code.Internal)
        throw new ConnectError(
          `model-server could not be asked for ${version} (${Code[ce.code]})`,
          Code.Unavailable,
        );
      throw ce;
    }
  }

  /** The client that embeds at exactly `version`; it refuses an answer of any other version. */
  private embedderAt(version: string): EmbedderClient {
    let client = this.embedders.get(version);
    if (!client) {
      const ref = parseEmbedderRef(version);
      if (typeof ref === "string" || !ref.model || !ref.version)
        throw new ConnectError(
          `model_version: ${version} is not name@version`,
          Code.InvalidArgument,
        );
      client = new EmbedderClient(this.modelServerUrl, ref.model, this.logger, ref.version);
      this.embedders.set(version, client);
    }
    return client;
  }
}

const jobKey = (tenant: string, version: string): string => `${tenant}\u0000${version}`;
