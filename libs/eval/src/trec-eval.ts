export interface ScoredDoc {
  docId: string;
  score: number;
}

/** qid → retrieved docs (any order; evaluation re-sorts exactly as trec_eval does). */
export type Run = Map<string, ScoredDoc[]>;

/**
 * qid → (docid → grade), as in a TREC qrels file. Grades ≥ 1 are relevant for the binary
 * measures (trec_eval's default relevance level); nDCG uses the grades as gains.
 */
export type Qrels = Map<string, Map<string, number>>;

/** Binary judgments (every listed doc has grade 1), e.g. from CISI.REL. */
export function binaryQrels(sets: ReadonlyMap<string, ReadonlySet<string>>): Qrels {
  const out: Qrels = new Map();
  for (const [qid, docs] of sets) out.set(qid, new Map([...docs].map((d) => [d, 1])));
  return out;
}

/**
 * trec_eval measure names: `mrr_10` is `recip_rank` over the first 10 docs (trec_eval
 * `-M 10 -m recip_rank`), `recip_rank` is uncut, `recall_K` is trec_eval's `recall.K`.
 */
export const METRIC_NAMES = [
  "map",
  "ndcg_cut_10",
  "mrr_10",
  "recip_rank",
  "P_10",
  "recall_10",
  "recall_100",
  "recall_1000",
] as const;

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
  const e = Object.fromEntries(METRIC_NAMES.map((m) => [m, 0])) as Metrics;
  return { ...e, num_ret: 0, num_rel: numRel, num_rel_ret: 0 };
}

const RECALL_CUTS: readonly [MetricName, number][] = [
  ["recall_10", 10],
  ["recall_100", 100],
  ["recall_1000", 1000],
];

function countRelevant(judged: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const g of judged.values()) if (g >= 1) n++;
  return n;
}

// trec_eval's ideal vector: every judged doc with a positive grade, best first, cut at 10.
function idealDcg10(judged: ReadonlyMap<string, number>): number {
  const gains = [...judged.values()].filter((g) => g > 0).sort((a, b) => b - a);
  let idcg = 0;
  for (let i = 0; i < Math.min(10, gains.length); i++) idcg += gains[i]! / Math.log2(i + 2);
  return idcg;
}

function evaluateQuery(
  qid: string,
  retrieved: readonly ScoredDoc[],
  judged: ReadonlyMap<string, number>,
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
  const numRel = countRelevant(judged);
  const result = emptyEval(numRel);
  result.num_ret = ranked.length;

  let relSoFar = 0;
  let apSum = 0;
  let dcg = 0;
  for (let i = 0; i < ranked.length; i++) {
    const grade = judged.get(ranked[i]!.docId) ?? 0;
    const rank = i + 1;
    // Gains are the grades; non-positive grades add nothing (trec_eval's `gain > 0`).
    if (rank <= 10 && grade > 0) dcg += grade / Math.log2(rank + 1);
    if (grade < 1) continue;
    relSoFar++;
    apSum += relSoFar / rank;
    if (relSoFar === 1) {
      result.recip_rank = 1 / rank;
      if (rank <= 10) result.mrr_10 = 1 / rank;
    }
    if (rank <= 10) result.P_10 += 1;
    for (const [m, cut] of RECALL_CUTS) if (rank <= cut) result[m] += 1;
  }
  result.num_rel_ret = relSoFar;
  // trec_eval divides P_10 by the cutoff even when fewer than 10 docs were retrieved.
  result.P_10 /= 10;
  if (numRel > 0) {
    result.map = apSum / numRel;
    for (const [m] of RECALL_CUTS) result[m] /= numRel;
  } else {
    for (const [m] of RECALL_CUTS) result[m] = 0;
  }
  const idcg = idealDcg10(judged);
  result.ndcg_cut_10 = idcg > 0 ? dcg / idcg : 0;
  return result;
}

/** TREC-style evaluation with trec_eval semantics (relevance level 1; nDCG gains = grades). */
export function evaluate(
  run: Run,
  qrels: ReadonlyMap<string, ReadonlyMap<string, number>>,
  opts: EvaluateOptions = {},
): EvalResult {
  const completeQueries = opts.completeQueries ?? true;
  const maxDocs = opts.maxDocsPerQuery ?? Number.POSITIVE_INFINITY;
  const precision = opts.scorePrecision ?? "float64";
  const perQuery = new Map<string, QueryEval>();
  // Queries in the run but not in qrels are ignored, as trec_eval does.
  for (const [qid, judged] of qrels) {
    const retrieved = run.get(qid);
    if (retrieved === undefined) {
      if (completeQueries) perQuery.set(qid, emptyEval(countRelevant(judged)));
      continue;
    }
    perQuery.set(qid, evaluateQuery(qid, retrieved, judged, maxDocs, precision));
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
