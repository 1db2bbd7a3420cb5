import { Code, ConnectError } from "@connectrpc/connect";
import { EmbedderClient, parseEmbedderRef } from "@tailor/clients";
import type { KeywordIndex } from "@tailor/keyword";
import type { Logger } from "@tailor/telemetry";
import type { ChunkPayload, VectorFilter, VectorStore } from "@tailor/vector";
import type { ChunkCatalog } from "./catalog.js";
import type { HybridConfig } from "./config.js";
import type { IndexState } from "./index-state.js";

export type Mode = "dense" | "keyword" | "hybrid";

export interface SearchQuery {
  tenant: string;
  query: string;
  k: number;
  mode: Mode;
  filter?: VectorFilter;
  /** Exact index version (`name@version`) to search; empty: the version the tenant is served at. */
  modelVersion?: string;
}

/** What a search found, and whether it is less than the mode asked for. */
export interface SearchResult {
  hits: Hit[];
  /** Hybrid answered from the keyword side alone: the dense side failed. */
  denseDegraded: boolean;
  /** Why, in words a client may see (no addresses, no query text). */
  warnings: string[];
  /** The index version searched (and the query embedded at); keyword search names the served one. */
  modelVersion: string;
}

export interface Hit {
  id: string;
  score: number;
  denseScore: number;
  keywordScore: number;
  payload: ChunkPayload;
}

/**
 * Dense, keyword or hybrid search over one tenant's chunks. The dense side embeds the query at
 * exactly the index version it searches, so vectors of two versions are never compared.
 */
export class Searcher {
  /** One client per exact version: every query embedding names the version of its index. */
  private readonly embedders = new Map<string, EmbedderClient>();

  constructor(
    private readonly store: VectorStore,
    private readonly keyword: KeywordIndex,
    private readonly catalog: ChunkCatalog,
    private readonly state: IndexState,
    private readonly modelServerUrl: string,
    private readonly hybrid: HybridConfig,
    private readonly logger: Logger,
  ) {}

  async search(q: SearchQuery, o: { signal?: AbortSignal } = {}): Promise<SearchResult> {
    const version = q.modelVersion || this.state.servedVersion(q.tenant);
    if (q.modelVersion && (await this.store.count(q.tenant, q.modelVersion)) === 0) {
      throw new ConnectError(
        `model_version: tenant ${q.tenant} has no index version ${q.modelVersion}`,
        Code.FailedPrecondition,
      );
    }
    const r = await this.searchAt(q, version, o.signal);
    return { ...r, modelVersion: version };
  }

  private async searchAt(
    q: SearchQuery,
    version: string,
    signal?: AbortSignal,
  ): Promise<Omit<SearchResult, "modelVersion">> {
    switch (q.mode) {
      case "dense":
        return this.denseOnly(q, version, signal);
      case "keyword":
        return { hits: this.keywordSide(q, q.k, false), denseDegraded: false, warnings: [] };
      case "hybrid":
        return this.fuse(q, version, signal);
      default: {
        const never: never = q.mode;
        throw new Error(`unknown mode ${String(never)}`);
      }
    }
  }

  private async denseOnly(
    q: SearchQuery,
    version: string,
    signal?: AbortSignal,
  ): Promise<Omit<SearchResult, "modelVersion">> {
    try {
      return {
        hits: await this.dense(q, version, q.k, signal),
        denseDegraded: false,
        warnings: [],
      };
    } catch (err) {
      throw this.embedFailure(err, signal);
    }
  }

  /**
   * The client-facing error when the query could not be embedded: names the model-server but not
   * its address, and keeps the code (UNAVAILABLE when it is down or slow).
   */
  private embedFailure(err: unknown, signal?: AbortSignal): ConnectError {
    const ce = ConnectError.from(err);
    if (signal?.aborted) return ce;
    this.logger.warn({ code: Code[ce.code] }, "query embedding failed");
    const code = [Code.Unavailable, Code.DeadlineExceeded, Code.Unknown, Code.Internal].includes(
      ce.code,
    )
      ? Code.Unavailable
      : ce.code;
    return new ConnectError(
      `model-server could not embed the query (${Code[ce.code]}); dense search is unavailable, keyword search still works`,
      code,
    );
  }

  private async dense(
    q: SearchQuery,
    version: string,
    k: number,
    signal?: AbortSignal,
  ): Promise<Hit[]> {
    if (!version)
      throw new ConnectError(
        "no embedding version is served yet: the model-server has not answered since retrieval started",
        Code.Unavailable,
      );
    if (!version) return [];
    const r = await this.embedderAt(version).embedOnce([q.query], signal);
    const hits = await this.store.search(q.tenant, version, r.vectors, k, q.filter);
    return hits.map((h) => ({
      id: h.id,
      score: h.score,
      denseScore: h.score,
      keywordScore: 0,
      payload: h.payload,
    }));
  }

  /** The client that embeds at exactly `version` (`name@version`); it refuses any other answer. */
  private embedderAt(version: string): EmbedderClient {
    let client = this.embedders.get(version);
    if (!client) {
      const ref = parseEmbedderRef(version);
      if (typeof ref === "string" || !ref.version)
        throw new ConnectError(`index version ${version} is not name@version`, Code.Internal);
      client = new EmbedderClient(this.modelServerUrl, ref.model, this.logger, ref.version);
      this.embedders.set(version, client);
    }
    return client;
  }

  private keywordSide(q: SearchQuery, k: number, rm3: boolean): Hit[] {
    const hits = rm3
      ? this.keyword.searchRm3(q.tenant, q.query, k, undefined, q.filter)
      : this.keyword.search(q.tenant, q.query, k, q.filter);
    const out: Hit[] = [];
    for (const h of hits) {
      const payload = this.catalog.get(q.tenant, h.id);
      if (payload)
        out.push({ id: h.id, score: h.score, denseScore: 0, keywordScore: h.score, payload });
    }
    return out;
  }

  /**
   * Hybrid: take candidates from both sides and fuse. Linear fusion of max-normalised scores with
   * a small dense weight is the default because weak averaged word vectors drag plain rank fusion
   * below keyword search alone (see shared/notes/retrieval-lessons.md).
   */
  private async fuse(
    q: SearchQuery,
    version: string,
    signal?: AbortSignal,
  ): Promise<Omit<SearchResult, "modelVersion">> {
    const n = Math.max(q.k, this.hybrid.candidates);
    const kw = this.keywordSide(q, n, this.hybrid.rm3);
    let dn: Hit[];
    try {
      dn = await this.dense(q, version, n, signal);
    } catch (err) {
      // A missing dense side still leaves a useful answer: the keyword hits, marked as such.
      const failure = this.embedFailure(err, signal);
      if (signal?.aborted) throw failure;
      return {
        hits: kw.slice(0, q.k),
        denseDegraded: true,
        warnings: [`hybrid search answered from the keyword side only: ${failure.rawMessage}`],
      };
    }
    const merged = new Map<string, Hit>();
    if (this.hybrid.fusion === "rrf") {
      const add = (list: Hit[], side: "dense" | "keyword") =>
        list.forEach((h, rank) => {
          const m = merged.get(h.id) ?? { ...h, score: 0, denseScore: 0, keywordScore: 0 };
          m.score += 1 / (60 + rank + 1);
          if (side === "dense") m.denseScore = h.denseScore;
          else m.keywordScore = h.keywordScore;
          merged.set(h.id, m);
        });
      add(kw, "keyword");
      add(dn, "dense");
    } else {
      const w = this.hybrid.denseWeight;
      const kwMax = kw[0]?.keywordScore || 1;
      const dnMax = dn[0]?.denseScore || 1;
      const dnMin = dn.length > 0 ? Math.min(...dn.map((h) => h.denseScore)) : 0;
      const dnRange = dnMax - dnMin || 1;
      for (const h of kw) merged.set(h.id, { ...h, score: (1 - w) * (h.keywordScore / kwMax) });
      for (const h of dn) {
        const part = w * ((h.denseScore - dnMin) / dnRange);
        const m = merged.get(h.id);
        if (m) {
          m.score += part;
          m.denseScore = h.denseScore;
        } else merged.set(h.id, { ...h, score: part });
      }
    }
    const hits = [...merged.values()]
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
      .slice(0, q.k);
    return { hits, denseDegraded: false, warnings: [] };
  }
}
