import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  LineageSchema,
  type LinearReranker,
  LinearRerankerSchema,
  type RetrievalSpec,
  RetrievalSpecSchema,
  SearchMode,
} from "@tailor/proto";
import { type RankingQuery, trainLinearRanker } from "@tailor/train";
import type { StageEnv } from "./execute.js";

/** Candidates reranked (and learned from) per query. */
const DEPTH = 100;
/** Feature names retrieval and the registry accept. */
const FEATURE_NAME = /^[a-z0-9_]{1,64}$/;

/**
 * Learning to rank: every train query is searched at the spec the reranker will serve in
 * (hybrid, with features), each candidate labelled with its document's grade, and a linear
 * pairwise model learned on them (seeded, L2, early stopping on a held-out share of the train
 * queries). When the spec differs from the base's (a tuned or adapted stage before it), it is
 * registered first as an intermediate candidate, since retrieval searches registered specs
 * only; the intermediate is rejected once the final version exists.
 */
export async function trainRerankerStage(
  s: StageEnv,
  spec: RetrievalSpec,
): Promise<{ reranker: LinearReranker; metrics: Record<string, number>; intermediate?: string }> {
  const { env, job, train } = s;
  const plain = create(RetrievalSpecSchema, { ...s.baseSpec, reranker: undefined });
  const changed = !sameSpec(plain, spec);
  let version = s.base.version;
  if (changed) {
    if (!s.checkpoint.intermediate) {
      s.progress(0, "reranker: registering the intermediate version to search at");
      const v = await s.ctx.remote.registerVersion(
        job.tenant,
        job.model,
        spec,
        create(LineageSchema, {
          parentVersion: s.base.version,
          trainingJob: job.id,
          datasetHash: s.checkpoint.datasetHash,
          kind: job.kind,
          seed: BigInt(job.seed),
        }),
        env.signal,
      );
      s.checkpoint.intermediate = v.version;
      await s.save();
    }
    version = s.checkpoint.intermediate;
  }
  const depth = Math.min(DEPTH, spec.candidates || DEPTH);
  const names = new Set<string>();
  const raw: { id: string; hits: { doc: string; features: Record<string, number> }[] }[] = [];
  for (const [i, q] of train.judged.entries()) {
    const r = await s.ctx.remote.search(
      {
        tenant: job.tenant,
        query: q.text,
        version,
        k: depth,
        mode: SearchMode.HYBRID,
        withFeatures: true,
      },
      env.signal,
    );
    if (r.version && r.version !== version)
      throw new ConnectError(`retrieval searched ${r.version}, not ${version}`, Code.Internal);
    for (const h of r.hits)
      for (const n of Object.keys(h.features)) if (FEATURE_NAME.test(n)) names.add(n);
    // Judged per document, at its best chunk (as the evaluator scores a ranking): each
    // document's first hit stands for it, so no document is counted twice.
    const seen = new Set<string>();
    const hits = r.hits.filter((h) => !seen.has(h.documentId) && seen.add(h.documentId));
    raw.push({ id: q.id, hits: hits.map((h) => ({ doc: h.documentId, features: h.features })) });
    s.progress(
      (0.7 * (i + 1)) / train.judged.length,
      `reranker: features of query ${i + 1}/${train.judged.length}`,
    );
  }
  const features = [...names].sort();
  if (features.length === 0)
    throw new ConnectError(
      `retrieval returned no ranking features at ${version} (with_features): cannot learn a reranker`,
      Code.FailedPrecondition,
    );
  const queries: RankingQuery[] = raw.map((q) => {
    const grades = train.qrels.get(q.id) ?? new Map<string, number>();
    const x = new Float64Array(q.hits.length * features.length);
    q.hits.forEach((h, i) => {
      features.forEach((f, k) => {
        const v = h.features[f] ?? 0;
        x[i * features.length + k] = Number.isFinite(v) ? v : 0;
      });
    });
    return {
      id: q.id,
      features: x,
      labels: q.hits.map((h) => Math.max(0, grades.get(h.doc) ?? 0)),
    };
  });
  s.progress(0.75, "reranker: learning");
  // Start from the fused order itself (all weight on `fused`), so learning moves away from
  // what the base already ranks well only as far as validation says it helps.
  const fused = features.indexOf("fused");
  const initial = features.map((_, k) => (k === fused ? 1 : 0));
  const r = trainLinearRanker(queries, features, {
    seed: s.seed,
    initial,
    onEpoch: (e) => s.progress(0.75 + Math.min(0.2, e.epoch / 250), `reranker: epoch ${e.epoch}`),
  });
  return {
    reranker: create(LinearRerankerSchema, {
      features,
      weights: [...r.model.weights],
      mean: [...r.model.mean],
      std: [...r.model.std],
      depth,
    }),
    metrics: {
      reranker_valid_ndcg10: r.validNdcg10,
      reranker_valid_ndcg10_base: r.baselineValidNdcg10,
      reranker_best_epoch: r.bestEpoch,
      reranker_train_pairs: r.trainPairs,
      reranker_valid_queries: r.validQueries,
    },
    ...(changed && { intermediate: version }),
  };
}

function sameSpec(a: RetrievalSpec, b: RetrievalSpec): boolean {
  return (
    a.embedder === b.embedder &&
    a.bm25K1 === b.bm25K1 &&
    a.bm25B === b.bm25B &&
    a.rm3Docs === b.rm3Docs &&
    a.rm3Terms === b.rm3Terms &&
    a.rm3Weight === b.rm3Weight &&
    a.denseWeight === b.denseWeight &&
    a.candidates === b.candidates
  );
}
