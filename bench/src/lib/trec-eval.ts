export interface ScoredDoc {
  docId: string;
  score: number;
}

/** qid → retrieved docs (any order; evaluation re-sorts exactly as trec_eval does). */
export type Run = Map<string, ScoredDoc[]>;

/** qid → relevant doc ids (binary relevance). */
export type Qrels = Map<string, Set<string>>;

export const METRIC_NAMES = ["map", "ndcg_cut_10", "recall_100", "recip_rank", "P_10"] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

export type Metrics = Record<MetricName, number>;

export interface QueryEval extends Metrics {
  num_ret: number;
  num_rel: number;
  num_rel_ret: number;
}

export interface EvaluateOptions {
  /**
   * trec_eval `-c`: average over every query in qrels, scoring missing run queries as 0.
   * When false, only queries in both run and qrels are evaluated (trec_eval's default).
   */
  completeQueries?: boolean;
  /** trec_eval `-M`: keep only the first N docs per query after sorting (default unlimited). */
  maxDocsPerQuery?: number;
  /**
   * Precision scores are compared at when ordering. Current trec_eval stores scores as C double
   * ("float64", the default); older releases such as 9.0.7, and pytrec_eval builds of them, store
   * C float, so scores equal after rounding to float32 tie and fall back to docno order.
   */
  scorePrecision?: ScorePrecision;
}

export type ScorePrecision = "float64" | "float32";

export interface EvalResult {
  perQuery: Map<string, QueryEval>;
  mean: Metrics;
  /** Number of queries averaged into `mean`. */
  numQueries: number;
}

// Byte-wise like C strcmp for ASCII ids; localeCompare would reorder case and punctuation.
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * trec_eval ignores the rank column and orders by score descending, then docno descending
 * (strcmp). Returning a copy keeps the caller's arrays untouched.
 */
export function sortLikeTrecEval(
  docs: readonly ScoredDoc[],
  precision: ScorePrecision = "float64",
): ScoredDoc[] {
  const key = precision === "float32" ? Math.fround : (v: number) => v;
  return docs
    .map((d) => ({ d, s: key(d.score) }))
    .sort((x, y) => {
      // Explicit comparisons rather than subtraction so equal infinities still tie.
      if (x.s > y.s) return -1;
      if (x.s < y.s) return 1;
      return compareStrings(y.d.docId, x.d.docId);
    })
    .map((x) => x.d);
}

function emptyEval(numRel: number): QueryEval {
  return {
    map: 0,
    ndcg_cut_10: 0,
    recall_100: 0,
    recip_rank: 0,
    P_10: 0,
    num_ret: 0,
    num_rel: numRel,
    num_rel_ret: 0,
  };
}

function evaluateQuery(
  qid: string,
  retrieved: readonly ScoredDoc[],
  relevant: ReadonlySet<string>,
  maxDocs: number,
  precision: ScorePrecision,
): QueryEval {
  const ranked = sortLikeTrecEval(retrieved, precision).slice(0, maxDocs);
  const seen = new Set<string>();
  for (const d of ranked) {
    // trec_eval aborts on duplicate docnos (checked after -M, as here); silently deduping would
    // hide a bug in the run producer.
    if (seen.has(d.docId)) throw new Error(`duplicate docid ${d.docId} for query ${qid}`);
    seen.add(d.docId);
  }
  const numRel = relevant.size;
  const result = emptyEval(numRel);
  result.num_ret = ranked.length;

  let relSoFar = 0;
  let apSum = 0;
  let dcg = 0;
  for (let i = 0; i < ranked.length; i++) {
    if (!relevant.has(ranked[i]!.docId)) continue;
    relSoFar++;
    const rank = i + 1;
    apSum += relSoFar / rank;
    if (relSoFar === 1) result.recip_rank = 1 / rank;
    if (rank <= 10) {
      result.P_10 += 1;
      dcg += 1 / Math.log2(rank + 1);
    }
    if (rank <= 100) result.recall_100 += 1;
  }
  result.num_rel_ret = relSoFar;
  // trec_eval divides P_10 by the cutoff even when fewer than 10 docs were retrieved.
  result.P_10 /= 10;
  if (numRel > 0) {
    result.map = apSum / numRel;
    result.recall_100 /= numRel;
    let idcg = 0;
    for (let r = 1; r <= Math.min(10, numRel); r++) idcg += 1 / Math.log2(r + 1);
    result.ndcg_cut_10 = dcg / idcg;
  } else {
    result.recall_100 = 0;
  }
  return result;
}

/** TREC-style evaluation with trec_eval semantics (binary relevance, relevance level 1). */
export function evaluate(run: Run, qrels: Qrels, opts: EvaluateOptions = {}): EvalResult {
  const completeQueries = opts.completeQueries ?? true;
  const maxDocs = opts.maxDocsPerQuery ?? Number.POSITIVE_INFINITY;
  const precision = opts.scorePrecision ?? "float64";
  const perQuery = new Map<string, QueryEval>();
  // Queries in the run but not in qrels are ignored, as trec_eval does.
  for (const [qid, relevant] of qrels) {
    const retrieved = run.get(qid);
    if (retrieved === undefined) {
      if (completeQueries) perQuery.set(qid, emptyEval(relevant.size));
      continue;
    }
    perQuery.set(qid, evaluateQuery(qid, retrieved, relevant, maxDocs, precision));
  }
  const mean = Object.fromEntries(METRIC_NAMES.map((m) => [m, 0])) as Metrics;
  const n = perQuery.size;
  if (n > 0) {
    for (const q of perQuery.values()) for (const m of METRIC_NAMES) mean[m] += q[m];
    for (const m of METRIC_NAMES) mean[m] /= n;
  }
  return { perQuery, mean, numQueries: n };
}

// Numeric-aware qid order so "2" precedes "10" in written runs, matching how people read them.
function compareQids(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (a !== "" && b !== "" && Number.isFinite(na) && Number.isFinite(nb) && na !== nb) {
    return na - nb;
  }
  return compareStrings(a, b);
}

/**
 * Serialises a run as `qid Q0 docid rank score tag` lines. Docs are written in trec_eval's own
 * order so the rank column agrees with what trec_eval will compute from the scores.
 */
export function writeTrecRun(run: Run, tag: string): string {
  if (tag === "" || /\s/.test(tag)) throw new Error(`run tag must be non-empty without spaces`);
  const out: string[] = [];
  for (const qid of [...run.keys()].sort(compareQids)) {
    const ranked = sortLikeTrecEval(run.get(qid)!);
    for (let i = 0; i < ranked.length; i++) {
      const d = ranked[i]!;
      if (/\s/.test(d.docId) || /\s/.test(qid)) {
        throw new Error(`ids must not contain whitespace: ${qid}/${d.docId}`);
      }
      // String(number) round-trips exactly, so parseTrecRun recovers the same scores and ties.
      out.push(`${qid} Q0 ${d.docId} ${i + 1} ${String(d.score)} ${tag}`);
    }
  }
  return out.length === 0 ? "" : out.join("\n") + "\n";
}

/** Parses a TREC run file; rank and tag columns are ignored, like trec_eval. */
export function parseTrecRun(text: string): Run {
  const run: Run = new Map();
  const rows = text.split(/\r?\n/);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!.trim();
    if (row === "") continue;
    const parts = row.split(/\s+/);
    if (parts.length !== 6) throw new Error(`run line ${i + 1}: expected 6 fields, got ${row}`);
    const [qid, , docId, , scoreText] = parts as [string, string, string, string, string];
    const score = Number(scoreText);
    if (Number.isNaN(score)) throw new Error(`run line ${i + 1}: bad score ${scoreText}`);
    let list = run.get(qid);
    if (!list) {
      list = [];
      run.set(qid, list);
    }
    list.push({ docId, score });
  }
  return run;
}
