import { create } from "@bufbuild/protobuf";
import { isValidToken } from "@tailor/bus";
import { parseEmbedderRef } from "@tailor/clients";
import {
  SearchHitSchema,
  SearchMode,
  type SearchRequest,
  type SearchResponse,
  SearchResponseSchema,
} from "@tailor/proto";
import { checkText, invalidArgument, KEY_RULE, type TextRule, textProblem } from "@tailor/service";
import type { Mode, Searcher } from "../searcher.js";
import { checkTenant } from "./tenant.js";

/** The query: UTF-8 bytes, not UTF-16 units, so the limit means the same in every client. */
const QUERY_RULE: TextRule = { maxBytes: 4096, required: true, control: "whitespace" };
/** Values of the metadata filter (documents' own values are bounded by ingestion's config). */
const FILTER_VALUE_RULE: TextRule = { maxBytes: 8192, control: "whitespace" };

export async function search(
  searcher: Searcher,
  req: SearchRequest,
  signal?: AbortSignal,
): Promise<SearchResponse> {
  checkTenant(req.tenant);
  checkText("query", req.query, QUERY_RULE);
  const k = req.k === 0 ? 10 : req.k;
  if (k > 1000) throw invalidArgument("k", "must be between 1 and 1000");
  req.sources.forEach((s, i) => {
    if (!isValidToken(s)) throw invalidArgument(`sources[${i}]`, "must match [A-Za-z0-9_-]{1,128}");
  });
  Object.entries(req.metadata).forEach(([key, value], n) => {
    // A bad key is named by its position, as ingestion does.
    const keyProblem = textProblem(key, KEY_RULE);
    if (keyProblem) throw invalidArgument("metadata", `key ${n} ${keyProblem}`);
    checkText(`metadata[${JSON.stringify(key)}]`, value, FILTER_VALUE_RULE);
  });
  const mode = toMode(req.mode);
  if (req.modelVersion) {
    const ref = parseEmbedderRef(req.modelVersion);
    if (typeof ref === "string" || !ref.version)
      throw invalidArgument("model_version", "must be an exact index version, name@version");
  }
  const { hits, denseDegraded, warnings, modelVersion } = await searcher.search(
    {
      tenant: req.tenant,
      query: req.query,
      k,
      mode,
      modelVersion: req.modelVersion,
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
    modelVersion,
    denseDegraded,
    warnings,
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
        modelVersion,
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
