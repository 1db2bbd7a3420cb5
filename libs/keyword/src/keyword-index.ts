import { analyze } from "./analyzer.js";
import {
  type Bm25Params,
  type KeywordDocument,
  type KeywordFilter,
  type KeywordHit,
  TenantIndex,
} from "./tenant-index.js";

/** RM3 pseudo-relevance feedback settings for one search; left out: `DEFAULT_RM3`. */
export interface Rm3Options {
  fbDocs?: number;
  fbTerms?: number;
  originalWeight?: number;
  /** Feedback terms in more than this share of documents are skipped, as in Anserini. */
  maxDocFrequencyRatio?: number;
  /** BM25 k1/b for this search only; left out: the tenant's (or the index's) parameters. */
  bm25?: Partial<Bm25Params>;
}

/** Default BM25 parameters for every tenant. */
export const DEFAULT_BM25: Readonly<Bm25Params> = Object.freeze({ k1: 0.9, b: 0.4 });

/** RM3 defaults (Anserini's). */
export const DEFAULT_RM3: Readonly<Required<Omit<Rm3Options, "bm25">>> = Object.freeze({
  fbDocs: 10,
  fbTerms: 10,
  originalWeight: 0.5,
  maxDocFrequencyRatio: 0.1,
});

/** Anserini only feeds back plain ASCII alphanumeric terms of 2..20 characters. */
const FEEDBACK_TERM = /^[a-z0-9]{2,20}$/;

/** Per-tenant BM25 keyword index; tenants share nothing, not even term statistics. */
export class KeywordIndex {
  private readonly tenants = new Map<string, TenantIndex>();
  private readonly params = new Map<string, Bm25Params>();

  constructor(private readonly defaults: Readonly<Bm25Params> = DEFAULT_BM25) {}

  /** Overrides k1/b for one tenant. */
  setParams(tenant: string, params: Partial<Bm25Params>): void {
    this.params.set(tenant, { ...this.defaults, ...params });
  }

  /** Indexes title + text as one field; re-adding an id replaces it. */
  add(tenant: string, id: string, doc: KeywordDocument): void {
    let t = this.tenants.get(tenant);
    if (!t) {
      t = new TenantIndex();
      this.tenants.set(tenant, t);
    }
    t.add(id, doc);
  }

  remove(tenant: string, id: string): boolean {
    return this.tenants.get(tenant)?.remove(id) ?? false;
  }

  count(tenant: string): number {
    return this.tenants.get(tenant)?.count ?? 0;
  }

  has(tenant: string, id: string): boolean {
    return this.tenants.get(tenant)?.has(id) ?? false;
  }

  /** Live document frequency of a term, analysed first (so "Running" finds "run"). */
  documentFrequency(tenant: string, term: string): number {
    const t = this.tenants.get(tenant);
    const analysed = analyze(term)[0];
    return t && analysed !== undefined ? t.documentFrequency(analysed) : 0;
  }

  averageDocumentLength(tenant: string): number {
    return this.tenants.get(tenant)?.averageLength ?? 0;
  }

  /** BM25 search; `bm25` overrides k1/b for this call only. */
  search(
    tenant: string,
    query: string,
    k: number,
    filter?: KeywordFilter,
    bm25?: Partial<Bm25Params>,
  ): KeywordHit[] {
    const t = this.tenants.get(tenant);
    if (!t) return [];
    return t.search(t.queryTerms(query), k, this.paramsFor(tenant, bm25), filter);
  }

  /** BM25 + RM3 pseudo-relevance feedback (see expandRm3): searches with the expanded query. */
  searchRm3(
    tenant: string,
    query: string,
    k: number,
    options: Rm3Options = {},
    filter?: KeywordFilter,
  ): KeywordHit[] {
    return this.query(tenant, query, { rm3: options, bm25: options.bm25, filter }).search(k);
  }

  /**
   * Analyses (and, with `rm3`, expands) a query once, to search with and to score given
   * documents by exactly as that search would (ranking features for candidates the search did
   * not return). `rm3` left out: plain BM25.
   */
  query(
    tenant: string,
    text: string,
    o: { bm25?: Partial<Bm25Params>; rm3?: Rm3Options; filter?: KeywordFilter } = {},
  ): KeywordQuery {
    const t = this.tenants.get(tenant);
    if (!t) return EMPTY_QUERY;
    const params = this.paramsFor(tenant, o.bm25);
    const original = t.queryTerms(text);
    const terms = o.rm3 ? expandRm3(t, original, o.rm3, params, o.filter) : original;
    return {
      search: (k) => (terms.size === 0 ? [] : t.search(terms, k, params, o.filter)),
      score: (ids) => t.scoreDocuments(terms, ids, params),
    };
  }

  /** Analysed terms in a document (title and text), or 0 when the index does not hold it. */
  documentLength(tenant: string, id: string): number {
    return this.tenants.get(tenant)?.documentLength(id) ?? 0;
  }

  private paramsFor(tenant: string, override?: Partial<Bm25Params>): Bm25Params {
    const base = this.params.get(tenant) ?? this.defaults;
    if (override === undefined) return base;
    return { k1: override.k1 ?? base.k1, b: override.b ?? base.b };
  }
}

/** A query prepared against one tenant's index. */
export interface KeywordQuery {
  /** The top `k` documents (the filter given when the query was prepared applies). */
  search(k: number): KeywordHit[];
  /** Each document's score under this query, 0 for one the index does not hold; not filtered. */
  score(ids: readonly string[]): Float64Array;
}

const EMPTY_QUERY: KeywordQuery = {
  search: () => [],
  score: (ids) => new Float64Array(ids.length),
};

/**
 * BM25 + RM3 as in Anserini's Rm3Reranker: take the top fbDocs hits, turn each into an
 * L1-normalised term distribution (its fbTerms most frequent eligible terms), weight by the
 * hit's score, sum, keep the fbTerms heaviest, L1-normalise and interpolate with the
 * L1-normalised original query. No feedback documents: an empty query (nothing matches).
 */
function expandRm3(
  t: TenantIndex,
  original: Map<number, number>,
  options: Rm3Options,
  params: Bm25Params,
  filter: KeywordFilter | undefined,
): Map<number, number> {
  const {
    fbDocs = DEFAULT_RM3.fbDocs,
    fbTerms = DEFAULT_RM3.fbTerms,
    originalWeight = DEFAULT_RM3.originalWeight,
    maxDocFrequencyRatio = DEFAULT_RM3.maxDocFrequencyRatio,
  } = options;
  const feedback = t.search(original, fbDocs, params, filter);
  if (feedback.length === 0) return new Map();

  const relevance = new Map<number, number>();
  for (const hit of feedback) {
    const vec = t.termVector(hit.id);
    if (!vec) continue;
    const eligible: { term: number; tf: number }[] = [];
    for (let i = 0; i < vec.terms.length; i++) {
      const term = vec.terms[i]!;
      if (!FEEDBACK_TERM.test(t.termText(term)) || t.dfRatio(term) > maxDocFrequencyRatio) continue;
      eligible.push({ term, tf: vec.tfs[i]! });
    }
    const kept = topBy(eligible, (e) => e.tf, fbTerms);
    const norm = kept.reduce((s, e) => s + e.tf, 0);
    if (norm <= 0.001) continue;
    for (const e of kept) {
      relevance.set(e.term, (relevance.get(e.term) ?? 0) + (e.tf / norm) * hit.score);
    }
  }
  const rm = topBy([...relevance], ([, w]) => w, fbTerms);
  const rmNorm = rm.reduce((s, [, w]) => s + w, 0);
  const qNorm = [...original.values()].reduce((s, w) => s + w, 0);

  const expanded = new Map<number, number>();
  for (const [term, w] of original) expanded.set(term, originalWeight * (w / qNorm));
  for (const [term, w] of rm) {
    const add = rmNorm > 0 ? (1 - originalWeight) * (w / rmNorm) : 0;
    expanded.set(term, (expanded.get(term) ?? 0) + add);
  }
  return expanded;
}

function topBy<T>(items: T[], weight: (item: T) => number, n: number): T[] {
  return items.sort((a, b) => weight(b) - weight(a)).slice(0, n);
}
