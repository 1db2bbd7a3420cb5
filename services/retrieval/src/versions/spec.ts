import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseEmbedderRef } from "@tailor/clients";
import { type Bm25Params, DEFAULT_BM25 } from "@tailor/keyword";
import { LinearRerankerSchema, type RetrievalSpec, RetrievalSpecSchema } from "@tailor/proto";
import type { HybridConfig } from "../config.js";
import { type LinearModel, linearModel } from "../ranking/reranker.js";

/** The registry model retrieval versions belong to (`retrieval@v<n>`). */
export const RETRIEVAL_MODEL = "retrieval";
/** A registry version of the retrieval model, as requests and the registry spell it. */
export const VERSION_NAME = /^retrieval@v[1-9][0-9]{0,8}$/;
/** Most candidates one side may contribute (the same bound as TAILOR_RETRIEVAL_CANDIDATES). */
export const MAX_CANDIDATES = 5000;

/** How one search runs: a registry version's spec, or the service's configured defaults. */
export interface SearchSpec {
  /** Exact index version (`name@version`); "" only outside the registry: the tenant's served one. */
  embedder: string;
  bm25: Bm25Params;
  /** RM3 on the keyword side of hybrid search; undefined: off. */
  rm3?: { docs: number; terms: number; weight: number };
  /** Registry versions are always linear; the service's defaults may say rrf. */
  fusion: "linear" | "rrf";
  denseWeight: number;
  /** Candidates taken from each side before fusing and reranking. */
  candidates: number;
  reranker?: LinearModel;
}

/** The service's defaults as a spec, at `embedder` ("" = the tenant's served version). */
export function defaultSpec(h: HybridConfig, embedder = ""): SearchSpec {
  return {
    embedder,
    bm25: { ...DEFAULT_BM25 },
    rm3: h.rm3.docs > 0 ? { ...h.rm3 } : undefined,
    fusion: h.fusion,
    denseWeight: h.denseWeight,
    candidates: h.candidates,
  };
}

/** A spec as the registry stores it (the base version made from the service's defaults). */
export function toRegistrySpec(s: SearchSpec): RetrievalSpec {
  return create(RetrievalSpecSchema, {
    embedder: s.embedder,
    bm25K1: s.bm25.k1,
    bm25B: s.bm25.b,
    rm3Docs: s.rm3?.docs ?? 0,
    rm3Terms: s.rm3?.terms ?? 0,
    rm3Weight: s.rm3?.weight ?? 0,
    denseWeight: s.denseWeight,
    candidates: s.candidates,
    reranker: s.reranker
      ? create(LinearRerankerSchema, {
          features: s.reranker.features,
          weights: [...s.reranker.weights],
          mean: [...s.reranker.mean],
          std: [...s.reranker.std],
          depth: s.reranker.depth,
        })
      : undefined,
  });
}

/**
 * A registry version's spec checked and converted; a spec retrieval cannot run is refused with
 * FAILED_PRECONDITION naming the version and the field (the registry is trusted, not blindly).
 */
export function fromRegistrySpec(version: string, s: RetrievalSpec | undefined): SearchSpec {
  const bad = (problem: string) =>
    new ConnectError(
      `version ${version} has an unusable spec: ${problem}`,
      Code.FailedPrecondition,
    );
  if (!s) throw bad("it has none");
  const ref = parseEmbedderRef(s.embedder);
  if (typeof ref === "string" || !ref.model || !ref.version)
    throw bad("embedder must be an exact index version, name@version");
  const inRange = (field: string, v: number, min: number, max: number) => {
    if (!Number.isFinite(v) || v < min || v > max)
      throw bad(`${field} ${v} is not between ${min} and ${max}`);
    return v;
  };
  const spec: SearchSpec = {
    embedder: s.embedder,
    bm25: { k1: inRange("bm25_k1", s.bm25K1, 0, 100), b: inRange("bm25_b", s.bm25B, 0, 1) },
    rm3:
      inRange("rm3_docs", s.rm3Docs, 0, 1000) > 0
        ? {
            docs: s.rm3Docs,
            terms: inRange("rm3_terms", s.rm3Terms, 0, 1000),
            weight: inRange("rm3_weight", s.rm3Weight, 0, 1),
          }
        : undefined,
    fusion: "linear",
    denseWeight: inRange("dense_weight", s.denseWeight, 0, 1),
    candidates: inRange("candidates", s.candidates, 1, MAX_CANDIDATES),
  };
  if (s.reranker) {
    const model = linearModel(s.reranker);
    if (typeof model === "string") throw bad(`reranker: ${model}`);
    spec.reranker = model;
  }
  return spec;
}
