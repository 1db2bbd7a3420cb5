import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { SearchMode } from "@tailor/proto";
import type { EvaluatorContext } from "./context.js";
import type { SearchFn } from "./score.js";

/** Codes worth another try: retrieval restarting or busy. */
const TRANSIENT = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted]);
const ATTEMPTS = 4;

export interface SearchTarget {
  tenant: string;
  /** Exact version; empty searches the tenant's defaults (a tenant without a registry model). */
  version: string;
  depth: number;
}

/**
 * RetrievalService.Search as the scorer's search function: hybrid, `depth` hits, at exactly
 * `version`. An answer from another version fails the evaluation rather than mixing versions.
 */
export function retrievalSearch(ctx: EvaluatorContext, t: SearchTarget): SearchFn {
  return async (query, signal) => {
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        const res = await ctx.retrieval.search(
          {
            tenant: t.tenant,
            query: query.text,
            k: t.depth,
            mode: SearchMode.HYBRID,
            version: t.version,
          },
          { signal, timeoutMs: 60_000 },
        );
        const latencyMs = performance.now() - started;
        const version = res.version || (t.version ? "" : `index:${res.modelVersion}`);
        if (t.version && res.version !== t.version)
          throw new ConnectError(
            `retrieval answered query ${query.id} at "${res.version}", not "${t.version}"`,
            Code.FailedPrecondition,
          );
        return { documentIds: res.hits.map((h) => h.documentId), version, latencyMs };
      } catch (err) {
        // Stopping (or the caller gone) is not retrieval's fault: say so, as Canceled.
        if (signal?.aborted) throw new ConnectError("evaluation cancelled", Code.Canceled);
        const e = ConnectError.from(err);
        if (TRANSIENT.has(e.code) && attempt < ATTEMPTS && !signal?.aborted) {
          await sleep(250 * 2 ** attempt, undefined, { signal }).catch(() => {});
          continue;
        }
        if (e.code === Code.FailedPrecondition && e.rawMessage.startsWith("retrieval answered"))
          throw e;
        throw new ConnectError(
          `retrieval failed on query ${query.id}: ${e.rawMessage}`,
          TRANSIENT.has(e.code) ? Code.Unavailable : Code.FailedPrecondition,
        );
      }
    }
  };
}
