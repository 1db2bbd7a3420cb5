import { analyze } from "./analyzer.js";

/** BM25 parameters (Lucene defaults: k1 0.9, b 0.4 as used by Anserini). */
export interface Bm25Params {
  k1: number;
  b: number;
}

/** Restricts keyword hits to some sources and/or exact metadata values (all must match). */
export interface KeywordFilter {
  sources?: string[];
  metadata?: Record<string, string>;
}

/** A chunk as the keyword index sees it. */
export interface KeywordDocument {
  title: string;
  text: string;
  source: string;
  metadata: Record<string, string>;
}

/** A keyword hit with its BM25 score. */
export interface KeywordHit {
  id: string;
  score: number;
}

/** Rebuild postings once dead documents outnumber half the live ones (and are not trivially few). */
const COMPACT_MIN_DEAD = 1024;

/**
 * One tenant's inverted index. Documents are dense numbers; postings per term are parallel
 * typed arrays (doc, tf) in ascending doc order. Removal marks the doc dead and fixes df and
 * lengths at once; postings are swept lazily by `compact()`.
 */
export class TenantIndex {
  private docIds: (string | null)[] = [];
  private readonly idToDoc = new Map<string, number>();
  private docLen: Int32Array = new Int32Array(64);
  private sources: string[] = [];
  private metadata: Record<string, string>[] = [];
  private docTerms: (Int32Array | null)[] = [];
  private docTfs: (Int32Array | null)[] = [];
  private liveCount = 0;
  private deadCount = 0;
  private totalLen = 0;
  private readonly termIds = new Map<string, number>();
  private terms: string[] = [];
  private postDocs: Int32Array[] = [];
  private postTfs: Int32Array[] = [];
  private postLen: number[] = [];
  private df: number[] = [];
  private scores = new Float64Array(64);
  /** Documents with a non-zero score in the current search, reused between searches. */
  private touched = new Int32Array(64);
  private version = 0;
  private filterCache: { key: string; version: number; allowed: Uint8Array } | undefined;

  get count(): number {
    return this.liveCount;
  }

  get averageLength(): number {
    return this.liveCount === 0 ? 0 : this.totalLen / this.liveCount;
  }

  has(id: string): boolean {
    return this.idToDoc.has(id);
  }

  add(id: string, doc: KeywordDocument): void {
    this.remove(id);
    this.version++;
    const tokens = analyze(doc.title + "\n" + doc.text);
    const tf = new Map<number, number>();
    for (const t of tokens) {
      const term = this.termId(t);
      tf.set(term, (tf.get(term) ?? 0) + 1);
    }
    const d = this.docIds.length;
    if (d === this.docLen.length) this.docLen = grow(this.docLen);
    this.docIds.push(id);
    this.idToDoc.set(id, d);
    this.docLen[d] = tokens.length;
    this.sources.push(doc.source);
    this.metadata.push(doc.metadata);
    const terms = new Int32Array(tf.size);
    const tfs = new Int32Array(tf.size);
    let i = 0;
    for (const [term, f] of tf) {
      terms[i] = term;
      tfs[i++] = f;
      this.appendPosting(term, d, f);
      this.df[term]!++;
    }
    this.docTerms.push(terms);
    this.docTfs.push(tfs);
    this.liveCount++;
    this.totalLen += tokens.length;
  }

  remove(id: string): boolean {
    const d = this.idToDoc.get(id);
    if (d === undefined) return false;
    this.version++;
    this.idToDoc.delete(id);
    const terms = this.docTerms[d]!;
    for (let i = 0; i < terms.length; i++) this.df[terms[i]!]!--;
    this.totalLen -= this.docLen[d]!;
    // A negative length marks the document dead for the scoring loop (a typed-array read there
    // is much cheaper than checking the object arrays).
    this.docLen[d] = -1;
    this.docIds[d] = null;
    this.docTerms[d] = null;
    this.docTfs[d] = null;
    this.liveCount--;
    this.deadCount++;
    if (this.deadCount >= COMPACT_MIN_DEAD && this.deadCount > this.liveCount / 2) this.compact();
    return true;
  }

  /** Live document frequency of an already analysed term. */
  documentFrequency(term: string): number {
    const t = this.termIds.get(term);
    return t === undefined ? 0 : this.df[t]!;
  }

  /** Analysed term → live document frequency share, for feedback term selection. */
  dfRatio(term: number): number {
    return this.liveCount === 0 ? 0 : this.df[term]! / this.liveCount;
  }

  termText(term: number): string {
    return this.terms[term]!;
  }

  lookupTerm(term: string): number | undefined {
    return this.termIds.get(term);
  }

  /** The (term, tf) vector of a live document. */
  termVector(id: string): { terms: Int32Array; tfs: Int32Array } | undefined {
    const d = this.idToDoc.get(id);
    if (d === undefined) return undefined;
    return { terms: this.docTerms[d]!, tfs: this.docTfs[d]! };
  }

  /**
   * Weighted BM25: score(d) = Σ weight(t) · idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl)),
   * with idf = ln(1 + (N − df + 0.5)/(df + 0.5)), as Lucene's BM25Similarity (with exact dl).
   */
  search(
    query: Map<number, number>,
    k: number,
    params: Bm25Params,
    filter?: KeywordFilter,
  ): KeywordHit[] {
    const n = this.liveCount;
    if (n === 0 || k <= 0 || query.size === 0) return [];
    const allowed = filter && !isEmptyFilter(filter) ? this.allowed(filter) : null;
    const { k1, b } = params;
    const avgdl = this.totalLen / n;
    if (this.scores.length < this.docIds.length) this.scores = new Float64Array(this.docLen.length);
    if (this.touched.length < this.docIds.length) this.touched = new Int32Array(this.docLen.length);
    const scores = this.scores;
    const docLen = this.docLen;
    const touched = this.touched;
    let touchedCount = 0;
    for (const [term, weight] of query) {
      const df = this.df[term]!;
      if (df === 0 || weight <= 0) continue;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      const w = weight * idf * (k1 + 1);
      const docs = this.postDocs[term]!;
      const tfs = this.postTfs[term]!;
      const len = this.postLen[term]!;
      const lenNorm = (k1 * b) / avgdl;
      const base = k1 * (1 - b);
      for (let i = 0; i < len; i++) {
        const d = docs[i]!;
        const dl = docLen[d]!;
        if (dl < 0 || (allowed && !allowed[d])) continue;
        const tf = tfs[i]!;
        if (scores[d] === 0) touched[touchedCount++] = d;
        scores[d]! += (w * tf) / (tf + base + lenNorm * dl);
      }
    }
    return this.topK(touched.subarray(0, touchedCount), k);
  }

  /** Analysed terms in a live document, or 0. */
  documentLength(id: string): number {
    const d = this.idToDoc.get(id);
    return d === undefined ? 0 : this.docLen[d]!;
  }

  /**
   * The score `search` gives each of `ids` (0 for one not held), with the same arithmetic in the
   * same order so the two agree to the bit; unlike `search` it applies no filter.
   */
  scoreDocuments(
    query: Map<number, number>,
    ids: readonly string[],
    params: Bm25Params,
  ): Float64Array {
    const out = new Float64Array(ids.length);
    const n = this.liveCount;
    if (n === 0 || query.size === 0) return out;
    const { k1, b } = params;
    const avgdl = this.totalLen / n;
    const lenNorm = (k1 * b) / avgdl;
    const base = k1 * (1 - b);
    const tfOf = new Map<number, number>();
    ids.forEach((id, i) => {
      const d = this.idToDoc.get(id);
      if (d === undefined) return;
      const terms = this.docTerms[d]!;
      const tfs = this.docTfs[d]!;
      tfOf.clear();
      for (let j = 0; j < terms.length; j++) tfOf.set(terms[j]!, tfs[j]!);
      const dl = this.docLen[d]!;
      let score = 0;
      for (const [term, weight] of query) {
        const df = this.df[term]!;
        const tf = tfOf.get(term);
        if (df === 0 || weight <= 0 || tf === undefined) continue;
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
        const w = weight * idf * (k1 + 1);
        score += (w * tf) / (tf + base + lenNorm * dl);
      }
      out[i] = score;
    });
    return out;
  }

  /** Analyses free text into (term id → query weight); duplicate terms add up, as repeated clauses do in Lucene. */
  queryTerms(text: string): Map<number, number> {
    const q = new Map<number, number>();
    for (const t of analyze(text)) {
      const id = this.termIds.get(t);
      if (id !== undefined) q.set(id, (q.get(id) ?? 0) + 1);
    }
    return q;
  }

  private topK(touched: Int32Array, k: number): KeywordHit[] {
    const scores = this.scores;
    // Min-heap on (score, -doc) of size k; Lucene breaks score ties by lower doc number.
    const heap: number[] = [];
    const worse = (a: number, b: number): boolean =>
      scores[a]! < scores[b]! || (scores[a] === scores[b] && a > b);
    for (const d of touched) {
      if (heap.length < k) {
        heap.push(d);
        let i = heap.length - 1;
        while (i > 0) {
          const p = (i - 1) >> 1;
          if (!worse(heap[i]!, heap[p]!)) break;
          [heap[i], heap[p]] = [heap[p]!, heap[i]!];
          i = p;
        }
      } else if (worse(heap[0]!, d)) {
        heap[0] = d;
        let i = 0;
        for (;;) {
          let c = 2 * i + 1;
          if (c >= heap.length) break;
          if (c + 1 < heap.length && worse(heap[c + 1]!, heap[c]!)) c++;
          if (!worse(heap[c]!, heap[i]!)) break;
          [heap[i], heap[c]] = [heap[c]!, heap[i]!];
          i = c;
        }
      }
    }
    heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
    const hits = heap.map((d) => ({ id: this.docIds[d]!, score: scores[d]! }));
    for (const d of touched) scores[d] = 0;
    return hits;
  }

  private allowed(filter: KeywordFilter): Uint8Array {
    const key = JSON.stringify(filter);
    const c = this.filterCache;
    if (c && c.key === key && c.version === this.version) return c.allowed;
    const allowed = new Uint8Array(this.docIds.length);
    for (let d = 0; d < this.docIds.length; d++) {
      if (this.docIds[d] === null) continue;
      if (filter.sources && !filter.sources.includes(this.sources[d]!)) continue;
      const meta = this.metadata[d]!;
      let ok = true;
      for (const [k, v] of Object.entries(filter.metadata ?? {})) {
        if (meta[k] !== v) {
          ok = false;
          break;
        }
      }
      if (ok) allowed[d] = 1;
    }
    this.filterCache = { key, version: this.version, allowed };
    return allowed;
  }

  private termId(term: string): number {
    let id = this.termIds.get(term);
    if (id === undefined) {
      id = this.terms.length;
      this.termIds.set(term, id);
      this.terms.push(term);
      this.postDocs.push(new Int32Array(4));
      this.postTfs.push(new Int32Array(4));
      this.postLen.push(0);
      this.df.push(0);
    }
    return id;
  }

  private appendPosting(term: number, doc: number, tf: number): void {
    const len = this.postLen[term]!;
    if (len === this.postDocs[term]!.length) {
      this.postDocs[term] = grow(this.postDocs[term]!);
      this.postTfs[term] = grow(this.postTfs[term]!);
    }
    this.postDocs[term]![len] = doc;
    this.postTfs[term]![len] = tf;
    this.postLen[term] = len + 1;
  }

  /** Renumbers live documents densely and drops dead postings. */
  private compact(): void {
    const remap = new Int32Array(this.docIds.length).fill(-1);
    const docIds: string[] = [];
    const docLen = new Int32Array(Math.max(64, this.liveCount * 2));
    const sources: string[] = [];
    const metadata: Record<string, string>[] = [];
    const docTerms: Int32Array[] = [];
    const docTfs: Int32Array[] = [];
    for (let d = 0; d < this.docIds.length; d++) {
      const id = this.docIds[d];
      if (id == null) continue;
      const nd = docIds.length;
      remap[d] = nd;
      docIds.push(id);
      docLen[nd] = this.docLen[d]!;
      sources.push(this.sources[d]!);
      metadata.push(this.metadata[d]!);
      docTerms.push(this.docTerms[d]!);
      docTfs.push(this.docTfs[d]!);
      this.idToDoc.set(id, nd);
    }
    for (let t = 0; t < this.terms.length; t++) {
      const docs = this.postDocs[t]!;
      const tfs = this.postTfs[t]!;
      let w = 0;
      for (let i = 0; i < this.postLen[t]!; i++) {
        const nd = remap[docs[i]!]!;
        if (nd < 0) continue;
        docs[w] = nd;
        tfs[w++] = tfs[i]!;
      }
      this.postLen[t] = w;
    }
    this.docIds = docIds;
    this.docLen = docLen;
    this.sources = sources;
    this.metadata = metadata;
    this.docTerms = docTerms;
    this.docTfs = docTfs;
    this.deadCount = 0;
    this.scores = new Float64Array(docLen.length);
    this.filterCache = undefined;
  }
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const out = new Int32Array(a.length * 2);
  out.set(a);
  return out;
}

function isEmptyFilter(f: KeywordFilter): boolean {
  return f.sources === undefined && Object.keys(f.metadata ?? {}).length === 0;
}
