import { type EvalQuery, type EvalResult, type EvalSet, evaluate, type Run } from "@tailor/eval";
import { DEFAULT_BM25, DEFAULT_RM3, type KeywordIndex } from "@tailor/keyword";
import { mulberry32 } from "@tailor/models/random";

/** One tenant's keyword parameters: BM25 k1/b and RM3 feedback; plain JSON. */
export interface RetrievalParams {
  k1: number;
  b: number;
  fbDocs: number;
  fbTerms: number;
  originalWeight: number;
}

export type RetrievalParamName = keyof RetrievalParams;

const PARAM_NAMES: readonly RetrievalParamName[] = [
  "k1",
  "b",
  "fbDocs",
  "fbTerms",
  "originalWeight",
];

/** The parameters retrieval searches with when a tenant has none of its own. */
export const DEFAULT_RETRIEVAL_PARAMS: Readonly<RetrievalParams> = Object.freeze({
  k1: DEFAULT_BM25.k1,
  b: DEFAULT_BM25.b,
  fbDocs: DEFAULT_RM3.fbDocs,
  fbTerms: DEFAULT_RM3.fbTerms,
  originalWeight: DEFAULT_RM3.originalWeight,
});

/** Values each coordinate step tries (originalWeight 1 is plain BM25, i.e. RM3 off). */
export const DEFAULT_RETRIEVAL_GRID: Readonly<Record<RetrievalParamName, readonly number[]>> =
  Object.freeze({
    k1: [0.3, 0.5, 0.7, 0.9, 1.2, 1.5, 2],
    b: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 0.9],
    fbDocs: [3, 5, 7, 10, 15, 20, 30],
    fbTerms: [5, 10, 15, 20, 30, 40, 60],
    originalWeight: [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
  });

/** An analysed corpus: one tenant of a keyword index, built once and searched per candidate. */
export interface KeywordCorpus {
  index: KeywordIndex;
  tenant: string;
  /**
   * When the index holds chunks (as retrieval's does) and judgments name documents: the document
   * of a chunk id. A document then ranks at its best chunk, as a per-document evaluation of
   * retrieval's chunk hits does.
   */
  documentOf?: (id: string) => string | undefined;
}

export interface RetrievalParamsStep {
  /** 0: the ascent from `start`; 1..: the ascents from the best grid samples. */
  ascent: number;
  round: number;
  /** The coordinate searched in this step; `start` for the evaluation of the starting point. */
  param: RetrievalParamName | "start";
  /** Train nDCG@10 of every value tried for `param`, in grid order. */
  tried: { value: number; ndcg10: number }[];
  /** Whether the step moved to a new value. */
  moved: boolean;
  /** Parameters and train nDCG@10 after the step. */
  params: RetrievalParams;
  ndcg10: number;
}

export type RetrievalParamsStopReason = "converged" | "max_rounds" | "max_evaluations";

export interface RetrievalParamsTuning {
  params: RetrievalParams;
  /** Mean train nDCG@10 of `params`. */
  ndcg10: number;
  start: RetrievalParams;
  startNdcg10: number;
  /** Distinct parameter sets evaluated over the train queries. */
  evaluations: number;
  /** Coordinate rounds run, over all ascents. */
  rounds: number;
  /** Why the last ascent stopped. */
  stopReason: RetrievalParamsStopReason;
  /** The seeded grid points the restarts were chosen from. */
  samples: { params: RetrievalParams; ndcg10: number }[];
  history: RetrievalParamsStep[];
}

export interface RetrievalParamsTuningOptions {
  /** Orders the coordinates in each round; the same seed gives the same run (default 0). */
  seed?: number;
  /** Where the ascent starts (default `DEFAULT_RETRIEVAL_PARAMS`). */
  start?: RetrievalParams;
  grid?: Partial<Record<RetrievalParamName, readonly number[]>>;
  /** Full passes over the five coordinates per ascent (default 4). */
  maxRounds?: number;
  /** Ascents besides the one from `start`, each from one of the best grid samples (default 2). */
  restarts?: number;
  /** Random grid points drawn to choose the restarts from (default 24). */
  samples?: number;
  /** Distinct candidates evaluated at most (default 400). */
  maxEvaluations?: number;
  /** A move must raise train nDCG@10 by more than this (default 1e-4). */
  minGain?: number;
  /** Documents retrieved per query (default 1000, trec_eval's usual depth). */
  depth?: number;
  onStep?: (step: RetrievalParamsStep) => void;
  signal?: AbortSignal;
}

/** Throws RangeError naming the parameter when a value cannot be searched with. */
export function checkRetrievalParams(p: RetrievalParams): RetrievalParams {
  for (const name of PARAM_NAMES) checkValue(name, p[name]);
  return p;
}

function checkValue(name: RetrievalParamName, v: number): void {
  const ok =
    Number.isFinite(v) &&
    (name === "k1"
      ? v >= 0 && v <= 10
      : name === "b" || name === "originalWeight"
        ? v >= 0 && v <= 1
        : Number.isInteger(v) && v >= 1 && v <= 1000);
  if (!ok) throw new RangeError(`retrieval params: ${name} = ${v} is out of range`);
}

/** BM25 + RM3 run of `queries` at `params`: qid → ranked docs. */
export function retrievalParamsRun(
  corpus: KeywordCorpus,
  queries: readonly EvalQuery[],
  params: RetrievalParams,
  depth = 1000,
): Run {
  const run: Run = new Map();
  for (const q of queries) {
    const hits = corpus.index.searchRm3(corpus.tenant, q.text, depth, {
      bm25: { k1: params.k1, b: params.b },
      fbDocs: params.fbDocs,
      fbTerms: params.fbTerms,
      originalWeight: params.originalWeight,
    });
    run.set(q.id, toDocuments(corpus, hits));
  }
  return run;
}

/** trec_eval-style metrics of `params` on the judged queries of `set` (unanswered ones score 0). */
export function evaluateRetrievalParams(
  corpus: KeywordCorpus,
  set: EvalSet,
  params: RetrievalParams,
  depth = 1000,
): EvalResult {
  const judged = set.queries.filter((q) => set.qrels.has(q.id));
  return evaluate(retrievalParamsRun(corpus, judged, params, depth), set.qrels);
}

/**
 * A small seeded grid sample, then coordinate ascent on mean nDCG@10 over the train queries.
 * The first ascent starts at `start` (the defaults); `restarts` more start at the best of
 * `samples` grid points drawn with the seed, since one ascent stops at a local optimum. Each
 * round visits the five coordinates in a seeded order, tries every grid value of one with the
 * others fixed, and moves to the best when it gains more than `minGain`. The best ascent wins
 * (the first on ties), so the result is never worse than `start` on train. Candidates are
 * cached: each distinct parameter set is evaluated once.
 */
export function tuneRetrievalParams(
  corpus: KeywordCorpus,
  train: EvalSet,
  opts: RetrievalParamsTuningOptions = {},
): RetrievalParamsTuning {
  const steps = tuning(corpus, train, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * {@link tuneRetrievalParams} that gives the event loop a turn after every evaluation, so a
 * long tuning does not starve timers (a job's lease heartbeat) or I/O. Same result, same bits.
 */
export async function tuneRetrievalParamsAsync(
  corpus: KeywordCorpus,
  train: EvalSet,
  opts: RetrievalParamsTuningOptions = {},
): Promise<RetrievalParamsTuning> {
  const steps = tuning(corpus, train, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The tuning as a generator that yields after each evaluation over the train queries. */
function* tuning(
  corpus: KeywordCorpus,
  train: EvalSet,
  opts: RetrievalParamsTuningOptions,
): Generator<void, RetrievalParamsTuning> {
  const judged = train.queries.filter((q) => train.qrels.has(q.id));
  if (judged.length === 0) throw new RangeError("retrieval params: no judged train queries");
  const start = checkRetrievalParams({ ...(opts.start ?? DEFAULT_RETRIEVAL_PARAMS) });
  const grid = { ...DEFAULT_RETRIEVAL_GRID, ...opts.grid };
  for (const name of PARAM_NAMES) {
    if (grid[name].length === 0) throw new RangeError(`retrieval params: empty grid for ${name}`);
    for (const v of grid[name]) checkValue(name, v);
  }
  const maxRounds = opts.maxRounds ?? 4;
  const maxEvaluations = opts.maxEvaluations ?? 400;
  const minGain = opts.minGain ?? 1e-4;
  const depth = opts.depth ?? 1000;
  const restarts = opts.restarts ?? 2;
  const sampleCount = restarts > 0 ? Math.max(restarts, opts.samples ?? 24) : 0;
  const rand = mulberry32(opts.seed ?? 0);
  const cache = new Map<string, number>();
  const budgetLeft = (p: RetrievalParams) => cache.size < maxEvaluations || cache.has(keyOf(p));
  const score = function* (p: RetrievalParams): Generator<void, number> {
    const key = keyOf(p);
    let s = cache.get(key);
    if (s === undefined) {
      opts.signal?.throwIfAborted();
      s = evaluate(retrievalParamsRun(corpus, judged, p, depth), train.qrels).mean.ndcg_cut_10;
      cache.set(key, s);
      yield;
    }
    return s;
  };
  const history: RetrievalParamsStep[] = [];
  const record = (step: RetrievalParamsStep) => {
    history.push(step);
    opts.onStep?.(step);
  };
  let stopReason: RetrievalParamsStopReason = "converged";
  let rounds = 0;

  const ascend = function* (
    ascent: number,
    from: RetrievalParams,
  ): Generator<void, RetrievalParams> {
    stopReason = "converged";
    let current = from;
    let best = yield* score(current);
    record({
      ascent,
      round: 0,
      param: "start",
      tried: [],
      moved: false,
      params: current,
      ndcg10: best,
    });
    for (let round = 1; round <= maxRounds; round++) {
      rounds++;
      let movedThisRound = false;
      for (const name of shuffled(PARAM_NAMES, rand)) {
        const tried: { value: number; ndcg10: number }[] = [];
        let bestValue = current[name];
        let bestScore = best;
        for (const value of grid[name]) {
          const candidate = { ...current, [name]: value };
          if (!budgetLeft(candidate)) {
            stopReason = "max_evaluations";
            break;
          }
          const s = yield* score(candidate);
          tried.push({ value, ndcg10: s });
          if (s > bestScore) {
            bestScore = s;
            bestValue = value;
          }
        }
        const moved = bestValue !== current[name] && bestScore > best + minGain;
        if (moved) {
          current = { ...current, [name]: bestValue };
          best = bestScore;
          movedThisRound = true;
        }
        record({ ascent, round, param: name, tried, moved, params: current, ndcg10: best });
        if (stopReason === "max_evaluations") return current;
      }
      if (!movedThisRound) return current;
      if (round === maxRounds) stopReason = "max_rounds";
    }
    return current;
  };

  let params = yield* ascend(0, start);
  const startNdcg10 = yield* score(start);
  const samples: { params: RetrievalParams; ndcg10: number }[] = [];
  for (let i = 0; i < sampleCount && stopReason !== "max_evaluations"; i++) {
    const p = Object.fromEntries(
      PARAM_NAMES.map((n) => [n, grid[n][Math.floor(rand() * grid[n].length)]!]),
    ) as unknown as RetrievalParams;
    if (!budgetLeft(p)) stopReason = "max_evaluations";
    else samples.push({ params: p, ndcg10: yield* score(p) });
  }
  const starts = [...samples].sort((a, b) => b.ndcg10 - a.ndcg10).slice(0, restarts);
  for (let r = 0; r < starts.length && stopReason !== "max_evaluations"; r++) {
    const found = yield* ascend(r + 1, starts[r]!.params);
    if ((yield* score(found)) > (yield* score(params))) params = found;
  }
  return {
    params,
    ndcg10: yield* score(params),
    start,
    startNdcg10,
    evaluations: cache.size,
    rounds,
    stopReason,
    samples,
    history,
  };
}

/** Hits as ranked documents: chunk ids collapse to their document at its first (best) chunk. */
function toDocuments(
  corpus: KeywordCorpus,
  hits: readonly { id: string; score: number }[],
): { docId: string; score: number }[] {
  const documentOf = corpus.documentOf;
  if (!documentOf) return hits.map((h) => ({ docId: h.id, score: h.score }));
  const seen = new Set<string>();
  const out: { docId: string; score: number }[] = [];
  for (const h of hits) {
    const docId = documentOf(h.id);
    if (docId === undefined || seen.has(docId)) continue;
    seen.add(docId);
    out.push({ docId, score: h.score });
  }
  return out;
}

function keyOf(p: RetrievalParams): string {
  return PARAM_NAMES.map((n) => p[n]).join(",");
}

function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
