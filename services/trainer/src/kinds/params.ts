import { evaluate, type Run } from "@tailor/eval";
import { SearchMode } from "@tailor/proto";
import {
  checkRetrievalParams,
  DEFAULT_RETRIEVAL_PARAMS,
  type KeywordCorpus,
  type RetrievalParams,
  TUNING_OBJECTIVE,
  tuneRetrievalParamsAsync,
} from "@tailor/train";
import type { ParamsResult } from "./checkpoint.js";
import type { StageEnv } from "./execute.js";
import { keywordCorpus } from "./keyword-corpus.js";

const TUNING_SAMPLES = 160;
const DENSE_WEIGHTS = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5];

/**
 * Tunes BM25 k1/b and RM3 docs/terms/weight on the train queries (seeded main-effects design
 * over a local keyword index of the corpus, built as retrieval builds its own), then the dense
 * weight of linear fusion over a small grid: the dense side's candidates and cosines come from
 * retrieval (dense mode at the base's embedder, or `embedder` once an adapter exists), the
 * keyword side from the tuned local index, fused exactly as retrieval fuses.
 */
export async function trainParamsStage(s: StageEnv, embedder?: string): Promise<ParamsResult> {
  if (s.checkpoint.params) return s.checkpoint.params;
  const { env, train, job } = s;
  s.progress(0, "retrieval-params: indexing the corpus");
  const corpus = keywordCorpus(job.tenant, s.corpus);
  const start = startParams(s);
  let evaluations = 0;
  const tuned = await tuneRetrievalParamsAsync(corpus, train, {
    seed: s.seed,
    start,
    samples: TUNING_SAMPLES,
    signal: env.signal,
    onStep: (step) => {
      evaluations++;
      s.progress(
        Math.min(0.8, (0.8 * evaluations) / (TUNING_SAMPLES + 2)),
        step.phase === "sample"
          ? `retrieval-params: design point ${step.index + 1}/${TUNING_SAMPLES}`
          : `retrieval-params: ${step.phase}`,
      );
    },
  });
  s.progress(0.8, "retrieval-params: tuning the dense weight");
  const dense = await tuneDenseWeight(s, corpus, tuned.params, embedder ?? s.baseSpec.embedder);
  const p = tuned.params;
  const rm3Off = p.originalWeight >= 1;
  const result: ParamsResult = {
    bm25K1: p.k1,
    bm25B: p.b,
    rm3Docs: rm3Off ? 0 : p.fbDocs,
    rm3Terms: rm3Off ? 0 : p.fbTerms,
    rm3Weight: rm3Off ? 0 : p.originalWeight,
    denseWeight: dense.weight,
    metrics: {
      params_train_objective_start: tuned.startScore,
      params_train_objective_pick: tuned.pickScore,
      params_train_objective_keyword: tuned.score,
      params_evaluations: tuned.evaluations,
      dense_weight_train_objective: dense.score,
      dense_weight_train_objective_base: dense.baseScore,
    },
  };
  s.checkpoint.params = result;
  await s.save();
  return result;
}

/** The base version's keyword parameters (RM3 off reads as original weight 1). */
function startParams(s: StageEnv): RetrievalParams {
  const b = s.baseSpec;
  const p: RetrievalParams = {
    k1: b.bm25K1 > 0 ? b.bm25K1 : DEFAULT_RETRIEVAL_PARAMS.k1,
    b: b.bm25B,
    fbDocs: b.rm3Docs > 0 ? b.rm3Docs : DEFAULT_RETRIEVAL_PARAMS.fbDocs,
    fbTerms: b.rm3Docs > 0 && b.rm3Terms > 0 ? b.rm3Terms : DEFAULT_RETRIEVAL_PARAMS.fbTerms,
    originalWeight: b.rm3Docs > 0 ? b.rm3Weight : 1,
  };
  try {
    return checkRetrievalParams(p);
  } catch {
    return { ...DEFAULT_RETRIEVAL_PARAMS };
  }
}

interface Candidate {
  id: string;
  doc: string | undefined;
  keyword: number;
  dense: number;
}

async function tuneDenseWeight(
  s: StageEnv,
  corpus: KeywordCorpus,
  p: RetrievalParams,
  embedder: string,
): Promise<{ weight: number; score: number; baseScore: number }> {
  const n = s.baseSpec.candidates || 100;
  const documentOf = corpus.documentOf!;
  const lists: { qid: string; kw: Candidate[]; dn: Candidate[] }[] = [];
  for (const [i, q] of s.train.judged.entries()) {
    s.env.signal.throwIfAborted();
    const kw = corpus.index
      .searchRm3(corpus.tenant, q.text, n, {
        bm25: { k1: p.k1, b: p.b },
        fbDocs: p.fbDocs,
        fbTerms: p.fbTerms,
        originalWeight: p.originalWeight,
      })
      .map((h) => ({ id: h.id, doc: documentOf(h.id), keyword: h.score, dense: 0 }));
    // A bare index version searches outside the registry: the dense side does not depend on
    // the keyword parameters, so the base's (or the new adapter's) index is what fusion will see.
    const r = await s.ctx.remote.search(
      { tenant: s.job.tenant, query: q.text, k: n, mode: SearchMode.DENSE, modelVersion: embedder },
      s.env.signal,
    );
    const dn = r.hits.map((h) => ({
      id: h.chunkId,
      doc: h.documentId,
      keyword: 0,
      dense: h.denseScore,
    }));
    lists.push({ qid: q.id, kw, dn });
    if (i % 8 === 0)
      s.progress(0.8 + (0.15 * i) / s.train.judged.length, "retrieval-params: dense side");
  }
  const score = (w: number) => {
    const run: Run = new Map();
    for (const l of lists) run.set(l.qid, toDocuments(fuse(l.kw, l.dn, w)));
    return TUNING_OBJECTIVE(evaluate(run, s.train.qrels).mean);
  };
  const baseWeight = s.baseSpec.denseWeight;
  const baseScore = score(baseWeight);
  let best = { weight: baseWeight, score: baseScore };
  // A weight must beat the base's clearly to replace it: noise on a few train queries is not a gain.
  for (const w of DENSE_WEIGHTS) {
    const v = score(w);
    if (v > best.score + 1e-4) best = { weight: w, score: v };
  }
  return { ...best, baseScore };
}

/** Retrieval's linear fusion of max-normalised keyword and min-max-normalised dense scores. */
function fuse(kw: Candidate[], dn: Candidate[], w: number): Fused[] {
  const merged = new Map<string, Fused>();
  const kwMax = kw[0]?.keyword || 1;
  const dnMax = dn[0]?.dense || 1;
  const dnMin = dn.length > 0 ? Math.min(...dn.map((h) => h.dense)) : 0;
  const dnRange = dnMax - dnMin || 1;
  for (const h of kw)
    merged.set(h.id, { id: h.id, doc: h.doc, score: (1 - w) * (h.keyword / kwMax) });
  for (const h of dn) {
    const part = w * ((h.dense - dnMin) / dnRange);
    const m = merged.get(h.id);
    if (m) m.score += part;
    else merged.set(h.id, { id: h.id, doc: h.doc, score: part });
  }
  return [...merged.values()].sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
}

interface Fused {
  id: string;
  doc: string | undefined;
  score: number;
}

/** Each document once, at its best chunk. */
function toDocuments(hits: Fused[]): { docId: string; score: number }[] {
  const seen = new Set<string>();
  const out: { docId: string; score: number }[] = [];
  for (const h of hits) {
    const d = h.doc;
    if (d === undefined || seen.has(d)) continue;
    seen.add(d);
    out.push({ docId: d, score: h.score });
  }
  return out;
}
