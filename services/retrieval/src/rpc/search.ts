import { create } from "@bufbuild/protobuf";
import { isValidToken } from "@tailor/bus";
import {
  SearchHitSchema,
  SearchMode,
  type SearchRequest,
  type SearchResponse,
  SearchResponseSchema,
} from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import type { Mode, Searcher } from "../searcher.js";

const MAX_QUERY_CHARS = 4096;

export async function search(
  searcher: Searcher,
  req: SearchRequest,
  signal?: AbortSignal,
): Promise<SearchResponse> {
  if (!req.tenant)
    throw invalidArgument("tenant", "is required: every search is scoped to one tenant");
  if (!isValidToken(req.tenant)) throw invalidArgument("tenant", "must match [A-Za-z0-9_-]{1,128}");
  if (!req.query.trim()) throw invalidArgument("query", "must not be empty");
  if (req.query.length > MAX_QUERY_CHARS)
    throw invalidArgument("query", `is longer than ${MAX_QUERY_CHARS} characters`);
  const k = req.k === 0 ? 10 : req.k;
  if (k > 1000) throw invalidArgument("k", "must be between 1 and 1000");
  req.sources.forEach((s, i) => {
    if (!isValidToken(s)) throw invalidArgument(`sources[${i}]`, "must match [A-Za-z0-9_-]{1,128}");
  });
  const mode = toMode(req.mode);
  const hits = await searcher.search(
    {
      tenant: req.tenant,
      query: req.query,
      k,
      mode,
      filter:
        req.sources.length > 0 || Object.keys(req.metadata).length > 0
          ? {
              sources: req.sources.length ? req.sources : undefined,
              metadata: Object.keys(req.metadata).length ? req.metadata : undefined,
            }
          : undefined,
    },
    { signal },
  );
  return create(SearchResponseSchema, {
    modelVersion: searcher.modelVersion,
    hits: hits.map((h) =>
      create(SearchHitSchema, {
        chunkId: h.id,
        documentId: h.payload.documentId,
        source: h.payload.source,
        title: h.payload.title,
        text: h.payload.text,
        score: h.score,
        denseScore: h.denseScore,
        keywordScore: h.keywordScore,
        modelVersion: h.payload.modelVersion,
        metadata: h.payload.metadata,
        chunkIndex: h.payload.index,
      }),
    ),
  });
}

function toMode(m: SearchMode): Mode {
  switch (m) {
    case SearchMode.UNSPECIFIED:
    case SearchMode.HYBRID:
      return "hybrid";
    case SearchMode.DENSE:
      return "dense";
    case SearchMode.KEYWORD:
      return "keyword";
    default:
      throw invalidArgument("mode", `unknown value ${String(m)}`);
  }
}
