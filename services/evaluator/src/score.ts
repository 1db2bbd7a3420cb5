import {
  type EvalQuery,
  type EvalResult,
  type EvalSet,
  evaluate,
  judgedQueries,
  type Run,
  type ScoredDoc,
} from "@tailor/eval";

/** One search of a query: the documents in rank order and what answered it. */
interface Ranking {
  /** Document ids best first; repeats (several chunks of one document) are allowed. */
  documentIds: readonly string[];
  /** The exact version that answered. */
  version: string;
  latencyMs: number;
}

export type SearchFn = (query: EvalQuery, signal?: AbortSignal) => Promise<Ranking>;

export interface Scored {
  result: EvalResult;
  latencyMs: number[];
  /** Every version that answered (one, unless the searched alias moved mid-run). */
  versions: Set<string>;
}

/**
 * Documents ranked by their best chunk, with scores that encode the rank: trec_eval re-sorts by
 * score and breaks ties by document id, which would reorder the service's own ranking.
 */
export function documentRanking(documentIds: readonly string[]): ScoredDoc[] {
  const seen = new Set<string>();
  const docs: ScoredDoc[] = [];
  for (const id of documentIds) {
    if (seen.has(id)) continue;
    seen.add(id);
    docs.push({ docId: id, score: 0 });
  }
  docs.forEach((d, i) => {
    d.score = docs.length - i;
  });
  return docs;
}

/** Runs `fn` over `items` with at most `concurrency` in flight; stops at the first error. */
async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * Searches every judged query of the set and scores the rankings with trec_eval semantics;
 * queries without judgments are not searched (trec_eval would not average them).
 */
export async function scoreEvalSet(
  set: EvalSet,
  search: SearchFn,
  o: { concurrency: number; signal?: AbortSignal },
): Promise<Scored> {
  const queries = judgedQueries(set);
  const run: Run = new Map();
  const latencyMs: number[] = [];
  const versions = new Set<string>();
  await forEachBounded(queries, o.concurrency, async (q) => {
    o.signal?.throwIfAborted();
    const r = await search(q, o.signal);
    run.set(q.id, documentRanking(r.documentIds));
    latencyMs.push(r.latencyMs);
    versions.add(r.version);
  });
  const result = evaluate(run, set.qrels, { completeQueries: true });
  return { result, latencyMs, versions };
}
