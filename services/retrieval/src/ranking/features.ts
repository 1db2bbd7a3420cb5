import { analyze } from "@tailor/keyword";

/**
 * The ranking features of a fused candidate, by name. The names are a contract: the trainer
 * learns a LinearReranker over exactly these, and a reranker naming one this service does not
 * compute scores it as 0 after standardisation. Every value is deterministic for one query, one
 * index state and one spec.
 *
 * - `bm25`: BM25 of the query against the chunk's title + text with the spec's k1/b, no RM3;
 *   computed exactly for every candidate, whichever side found it.
 * - `rm3`: the keyword score of the RM3-expanded query (the spec's docs/terms/weight, with the
 *   search's source/metadata filter choosing the feedback documents); 0 when the spec has no RM3.
 * - `dense`: cosine similarity of query and chunk at the spec's embedder when the dense side
 *   retrieved the chunk among its candidates; 0 otherwise (see `dense_present`).
 * - `dense_present`: 1 when the dense side retrieved the chunk, else 0 (the vector store does
 *   not hand out vectors by id, so a cosine is known only for dense candidates).
 * - `fused`: the fused score (linear: (1 − w)·keyword/max + w·(cos − min)/(max − min) over the
 *   candidates; rrf: Σ 1/(60 + rank)); in keyword or dense mode, that side's score.
 * - `title_match`: share of the query's distinct analysed terms (the keyword analyzer: lower
 *   case, stop words out, Porter stems) found in the chunk's analysed title; 0 for an empty query.
 * - `rank_keyword`: 1 / (1 + r), r the 0-based rank on the keyword side (the list fusion used:
 *   BM25 + RM3 when on); 0 when the keyword side did not retrieve it.
 * - `rank_dense`: the same on the dense side.
 * - `log_length`: ln(1 + n), n the chunk's analysed terms (title + text).
 */
export const FEATURE_NAMES = [
  "bm25",
  "rm3",
  "dense",
  "dense_present",
  "fused",
  "title_match",
  "rank_keyword",
  "rank_dense",
  "log_length",
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];
export type Features = Record<FeatureName, number>;

/** One candidate as feature computation sees it. */
export interface FeatureCandidate {
  id: string;
  title: string;
  /** Fused score. */
  score: number;
}

/** What the sides of one search know about its candidates. */
export interface FeatureSources {
  query: string;
  /** Exact BM25 (no RM3) of each candidate, in candidate order. */
  bm25: Float64Array;
  /** Exact RM3 keyword score of each candidate, in candidate order; undefined when RM3 is off. */
  rm3?: Float64Array;
  /** 0-based rank of each id on the keyword side. */
  keywordRank: ReadonlyMap<string, number>;
  /** 0-based rank and cosine of each id on the dense side. */
  dense: ReadonlyMap<string, { rank: number; score: number }>;
  /** Analysed terms of a chunk (title + text). */
  length: (id: string) => number;
}

/** The features of each candidate, in candidate order. */
export function computeFeatures(cands: readonly FeatureCandidate[], s: FeatureSources): Features[] {
  const queryTerms = new Set(analyze(s.query));
  return cands.map((c, i) => {
    const kwRank = s.keywordRank.get(c.id);
    const dn = s.dense.get(c.id);
    return {
      bm25: s.bm25[i] ?? 0,
      rm3: s.rm3?.[i] ?? 0,
      dense: dn?.score ?? 0,
      dense_present: dn ? 1 : 0,
      fused: c.score,
      title_match: titleMatch(queryTerms, c.title),
      rank_keyword: kwRank === undefined ? 0 : 1 / (1 + kwRank),
      rank_dense: dn ? 1 / (1 + dn.rank) : 0,
      log_length: Math.log1p(Math.max(0, s.length(c.id))),
    };
  });
}

function titleMatch(queryTerms: ReadonlySet<string>, title: string): number {
  if (queryTerms.size === 0 || title === "") return 0;
  const titleTerms = new Set(analyze(title));
  let n = 0;
  for (const t of queryTerms) if (titleTerms.has(t)) n++;
  return n / queryTerms.size;
}
