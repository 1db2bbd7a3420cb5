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

/**
 * The mean of nDCG@10 and MAP. On a few dozen train queries nDCG@10 alone is noisy (ten ranks
 * per query); MAP looks at every judged document and, on CISI, the parameters that maximise
 * both together carry over to held-out queries where those maximising nDCG@10 alone do not
 * (see docs/loop.md).
 */
export const TUNING_OBJECTIVE = (m: EvalResult["mean"]): number => (m.ndcg_cut_10 + m.map) / 2;

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
  /** `start`: the starting point; `sample`: one point of the design; `main-effects`: the pick. */
  phase: "start" | "sample" | "main-effects";
  /** 0-based index of the sample (0 for the other phases). */
  index: number;
  params: RetrievalParams;
  /** Train objective of `params`. */
  score: number;
}

/** Mean train objective of the design points that hold one value of one parameter. */
export interface RetrievalParamEffect {
  value: number;
  mean: number;
  /** Design points holding the value. */
  n: number;
}

export interface RetrievalParamsTuning {
  params: RetrievalParams;
  /** Train objective of `params` (see `objective`). */
  score: number;
  start: RetrievalParams;
  startScore: number;
  /** The main-effects pick and its train objective, whether or not it was kept. */
  pick: RetrievalParams;
  pickScore: number;
  /** Why `params` is what it is: the pick beat `start` by more than `minGain`, or it did not. */
  chosen: "main-effects" | "start";
  /** Distinct parameter sets evaluated over the train queries. */
  evaluations: number;
  /** Per parameter, the mean objective of each grid value over the design, in grid order. */
  effects: Record<RetrievalParamName, RetrievalParamEffect[]>;
  history: RetrievalParamsStep[];
}

export interface RetrievalParamsTuningOptions {
  /** Draws the design; the same seed gives the same run (default 0). */
  seed?: number;
  /** The parameters to beat (default `DEFAULT_RETRIEVAL_PARAMS`). */
  start?: RetrievalParams;
  grid?: Partial<Record<RetrievalParamName, readonly number[]>>;
  /**
   * Points of the design (default 160): a balanced random design over the grid, each value of
   * each parameter held by about the same number of points.
   */
  samples?: number;
  /** The pick must beat `start`'s train objective by more than this (default 1e-4). */
  minGain?: number;
  /** Documents retrieved per query (default 1000, trec_eval's usual depth). */
  depth?: number;
  /**
   * What is maximised over the train queries (default `TUNING_OBJECTIVE`: the mean of nDCG@10
   * and MAP).
   */
  objective?: (mean: EvalResult["mean"]) => number;
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
 * Main-effects tuning: a seeded, balanced random design of `samples` grid points is scored on
 * the train queries; each parameter then takes the grid value whose design points score best
 * on average over the others (its main effect). On a few dozen queries a search for the single
 * best point (coordinate ascent, tried first) lands on sharp peaks of noise that held-out
 * queries do not share; averages over many points keep the trends that do carry over (on CISI:
 * larger k1 and b, RM3 weight 0.7). The pick replaces `start` only when it also scores better
 * as a point, so the result is never worse than `start` on train.
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
 * `tuneRetrievalParams`, giving the event loop a turn after each evaluation so that a service
 * running it stays responsive (health, cancellation, progress). The same options give the same
 * result.
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
  const samples = opts.samples ?? 160;
  if (!Number.isInteger(samples) || samples < 1)
    throw new RangeError(`retrieval params: samples = ${samples}, not a positive integer`);
  const minGain = opts.minGain ?? 1e-4;
  const depth = opts.depth ?? 1000;
  const objective = opts.objective ?? TUNING_OBJECTIVE;
  const rand = mulberry32(opts.seed ?? 0);
  const cache = new Map<string, number>();
  const score = function* (p: RetrievalParams): Generator<void, number> {
    const key = keyOf(p);
    let s = cache.get(key);
    if (s === undefined) {
      opts.signal?.throwIfAborted();
      s = objective(evaluate(retrievalParamsRun(corpus, judged, p, depth), train.qrels).mean);
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

  const startScore = yield* score(start);
  record({ phase: "start", index: 0, params: start, score: startScore });
  // Balanced design: each parameter's column cycles through its grid values, shuffled per
  // column, so every value is held by samples/|grid| points (±1) in random combinations.
  const columns = PARAM_NAMES.map((name) => {
    const values = grid[name];
    const column: number[] = [];
    while (column.length < samples) column.push(...shuffled(values, rand));
    return shuffled(column.slice(0, samples), rand);
  });
  const design: { params: RetrievalParams; score: number }[] = [];
  for (let i = 0; i < samples; i++) {
    const params = Object.fromEntries(
      PARAM_NAMES.map((n, j) => [n, columns[j]![i]!]),
    ) as unknown as RetrievalParams;
    const s = yield* score(params);
    design.push({ params, score: s });
    record({ phase: "sample", index: i, params, score: s });
  }
  const effects = Object.fromEntries(
    PARAM_NAMES.map((name) => [
      name,
      grid[name].map((value) => {
        const held = design.filter((d) => d.params[name] === value);
        const mean = held.length > 0 ? held.reduce((t, d) => t + d.score, 0) / held.length : 0;
        return { value, mean, n: held.length };
      }),
    ]),
  ) as Record<RetrievalParamName, RetrievalParamEffect[]>;
  const pick = Object.fromEntries(
    PARAM_NAMES.map((name) => {
      // The first grid value wins ties, so the pick does not depend on float noise order.
      const best = effects[name].filter((e) => e.n > 0).reduce((a, b) => (b.mean > a.mean ? b : a));
      return [name, best.value];
    }),
  ) as unknown as RetrievalParams;
  const pickScore = yield* score(pick);
  record({ phase: "main-effects", index: 0, params: pick, score: pickScore });
  const keep = pickScore > startScore + minGain;
  return {
    params: keep ? pick : start,
    score: keep ? pickScore : startScore,
    start,
    startScore,
    pick,
    pickScore,
    chosen: keep ? "main-effects" : "start",
    evaluations: cache.size,
    effects,
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
