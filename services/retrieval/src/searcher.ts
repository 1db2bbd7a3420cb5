import { Code, ConnectError } from "@connectrpc/connect";
import { EmbedderClient, parseEmbedderRef } from "@tailor/clients";
import type { KeywordIndex, KeywordQuery } from "@tailor/keyword";
import type { Logger } from "@tailor/telemetry";
import type { ChunkPayload, VectorFilter, VectorStore } from "@tailor/vector";
import type { ChunkCatalog } from "./catalog.js";
import type { IndexState } from "./index-state.js";
import { computeFeatures, type Features } from "./ranking/features.js";
import { fuse } from "./ranking/fusion.js";
import { rerank } from "./ranking/reranker.js";
import type { SearchSpec } from "./versions/spec.js";

export type Mode = "dense" | "keyword" | "hybrid";

export interface SearchQuery {
  tenant: string;
  query: string;
  k: number;
  mode: Mode;
  filter?: VectorFilter;
  /** How to search: a registry version's spec, or the service's defaults (embedder "" = served). */
  spec: SearchSpec;
  /** What named the spec's index version, for errors (`model_version`, `version retrieval@v3`). */
  namedBy?: string;
  /** Compute each hit's ranking features (a reranker computes them anyway). */
  withFeatures?: boolean;
}

/** How long a query waits out a model-server that answers UNAVAILABLE (a reset connection, a restart). */
const QUERY_EMBED_RETRY_MS = 2000;

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
  /** Fused score (a reranker reorders hits without changing it). */
  score: number;
  denseScore: number;
  keywordScore: number;
  payload: ChunkPayload;
  /** Present when the query asked for features. */
  features?: Features;
}

/** The two sides of one search and their fusion. */
interface Sides {
  /** Keyword side in rank order ([] when it did not run). */
  kw: Hit[];
  /** Dense side in rank order ([] when it did not run or failed). */
  dn: Hit[];
  /** The query the keyword side ran. */
  kwQuery?: KeywordQuery;
  /** Every candidate in fused order. */
  fused: Hit[];
  denseDegraded: boolean;
  warnings: string[];
}

/**
 * Dense, keyword or hybrid search over one tenant's chunks at one spec. The dense side embeds
 * the query at exactly the index version it searches, so vectors of two versions are never
 * compared; hybrid search fuses both sides and lets the spec's reranker reorder the head.
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
    private readonly logger: Logger,
  ) {}

  async search(q: SearchQuery, o: { signal?: AbortSignal } = {}): Promise<SearchResult> {
    const served = this.state.servedVersion(q.tenant);
    const version = q.spec.embedder || served;
    // The served version may simply be empty yet; any other must have been built for the tenant.
    if (version !== served && (await this.store.count(q.tenant, version)) === 0) {
      throw new ConnectError(
        `${q.namedBy ?? "model_version"}: tenant ${q.tenant} has no index version ${version}`,
        Code.FailedPrecondition,
      );
    }
    const sides = await this.sides(q, version, o.signal);
    let ranked = sides.fused;
    // The reranker was trained on fused hybrid candidates; one-sided modes show that side as is.
    const reranker = q.mode === "hybrid" ? q.spec.reranker : undefined;
    if (q.withFeatures || reranker) {
      const depth = reranker ? reranker.depth || ranked.length : 0;
      const head = ranked.slice(0, Math.max(q.k, depth));
      const features = this.features(q, head, sides);
      head.forEach((h, i) => {
        h.features = features[i];
      });
      if (reranker) ranked = rerank(reranker, ranked, (h) => h.features ?? {});
    }
    const hits = ranked.slice(0, q.k);
    if (!q.withFeatures) for (const h of hits) delete h.features;
    return {
      hits,
      denseDegraded: sides.denseDegraded,
      warnings: sides.warnings,
      modelVersion: version,
    };
  }

  private async sides(q: SearchQuery, version: string, signal?: AbortSignal): Promise<Sides> {
    const none = { kw: [], dn: [], denseDegraded: false, warnings: [] };
    switch (q.mode) {
      case "dense": {
        let dn: Hit[];
        try {
          dn = await this.dense(q, version, q.k, signal);
        } catch (err) {
          throw this.embedFailure(err, signal);
        }
        return { ...none, dn, fused: dn };
      }
      case "keyword": {
        // Keyword mode is plain BM25 at the spec's k1/b; RM3 belongs to hybrid's keyword side.
        const kwQuery = this.keywordQuery(q, false);
        const kw = this.hitsOf(q.tenant, kwQuery, q.k);
        return { ...none, kw, kwQuery, fused: kw };
      }
      case "hybrid":
        return this.hybrid(q, version, signal);
      default: {
        const never: never = q.mode;
        throw new Error(`unknown mode ${String(never)}`);
      }
    }
  }

  /** Both sides' candidates, fused; a failed dense side leaves the keyword side, marked as such. */
  private async hybrid(q: SearchQuery, version: string, signal?: AbortSignal): Promise<Sides> {
    const n = Math.max(q.k, q.spec.candidates);
    const kwQuery = this.keywordQuery(q, true);
    const kw = this.hitsOf(q.tenant, kwQuery, n);
    let dn: Hit[];
    try {
      dn = await this.dense(q, version, n, signal);
    } catch (err) {
      const failure = this.embedFailure(err, signal);
      if (signal?.aborted) throw failure;
      return {
        kw,
        dn: [],
        kwQuery,
        fused: kw,
        denseDegraded: true,
        warnings: [`hybrid search answered from the keyword side only: ${failure.rawMessage}`],
      };
    }
    return {
      kw,
      dn,
      kwQuery,
      fused: fuse(kw, dn, q.spec),
      denseDegraded: false,
      warnings: [],
    };
  }

  private keywordQuery(q: SearchQuery, withRm3: boolean): KeywordQuery {
    const rm3 = withRm3 ? q.spec.rm3 : undefined;
    return this.keyword.query(q.tenant, q.query, {
      bm25: q.spec.bm25,
      rm3: rm3 ? { fbDocs: rm3.docs, fbTerms: rm3.terms, originalWeight: rm3.weight } : undefined,
      filter: q.filter,
    });
  }

  private hitsOf(tenant: string, query: KeywordQuery, k: number): Hit[] {
    const out: Hit[] = [];
    for (const h of query.search(k)) {
      const payload = this.catalog.get(tenant, h.id);
      if (payload)
        out.push({ id: h.id, score: h.score, denseScore: 0, keywordScore: h.score, payload });
    }
    return out;
  }

  /** Features of `head` (fused order); keyword scores are exact for every candidate. */
  private features(q: SearchQuery, head: Hit[], sides: Sides): Features[] {
    const ids = head.map((h) => h.id);
    const plainSide = sides.kwQuery && !(q.mode === "hybrid" && q.spec.rm3);
    const bm25 = (plainSide ? sides.kwQuery! : this.keywordQuery(q, false)).score(ids);
    let rm3: Float64Array | undefined;
    if (q.spec.rm3)
      rm3 = (
        q.mode === "hybrid" && sides.kwQuery ? sides.kwQuery : this.keywordQuery(q, true)
      ).score(ids);
    return computeFeatures(
      head.map((h) => ({ id: h.id, title: h.payload.title, score: h.score })),
      {
        query: q.query,
        bm25,
        rm3,
        keywordRank: new Map(sides.kw.map((h, i) => [h.id, i])),
        dense: new Map(sides.dn.map((h, i) => [h.id, { rank: i, score: h.denseScore }])),
        length: (id) => this.keyword.documentLength(q.tenant, id),
      },
    );
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
    const r = await this.embedderAt(version).embedWithin([q.query], QUERY_EMBED_RETRY_MS, signal);
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
}
