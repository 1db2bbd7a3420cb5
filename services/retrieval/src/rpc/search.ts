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
import type { HybridConfig } from "../config.js";
import type { Mode, Searcher } from "../searcher.js";
import type { Resolved, VersionResolver } from "../versions/resolver.js";
import { defaultSpec, VERSION_NAME } from "../versions/spec.js";
import { checkTenant } from "./tenant.js";

/** What Search needs: the searcher, the version resolver and the service's default parameters. */
export interface SearchContext {
  searcher: Searcher;
  resolver: VersionResolver;
  defaults: HybridConfig;
}

/** The query: UTF-8 bytes, not UTF-16 units, so the limit means the same in every client. */
const QUERY_RULE: TextRule = { maxBytes: 4096, required: true, control: "whitespace" };
/** Values of the metadata filter (documents' own values are bounded by ingestion's config). */
const FILTER_VALUE_RULE: TextRule = { maxBytes: 8192, control: "whitespace" };
/** Registry version and alias names: short identifiers. */
const NAME_RULE: TextRule = { maxBytes: 128, control: "reject" };
/** As the registry spells aliases. */
const ALIAS_NAME = /^[a-z0-9-]{1,32}$/;
/** A canary routing key (a user or session id): opaque, only hashed, never stored or logged. */
const ROUTING_KEY_RULE: TextRule = { maxBytes: 512, control: "reject" };

export async function search(
  ctx: SearchContext,
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
  checkField("version", req.version, NAME_RULE);
  if (req.version && !VERSION_NAME.test(req.version))
    throw invalidArgument("version", "must be a registry version, retrieval@v<n>");
  checkField("alias", req.alias, NAME_RULE);
  if (req.alias && !ALIAS_NAME.test(req.alias))
    throw invalidArgument("alias", "must be an alias name such as prod or canary");
  if (req.version && req.alias)
    throw invalidArgument("alias", "name a version or an alias, not both");
  checkField("routing_key", req.routingKey, ROUTING_KEY_RULE);
  const at = await resolve(ctx, req);
  const { hits, denseDegraded, warnings, modelVersion } = await ctx.searcher.search(
    {
      tenant: req.tenant,
      query: req.query,
      k,
      mode,
      spec: at.spec,
      namedBy: at.version ? `version ${at.version}` : "model_version",
      withFeatures: req.withFeatures,
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
    version: at.version,
    denseDegraded,
    warnings: [...at.warnings, ...warnings],
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
        features: h.features ? { ...h.features } : {},
      }),
    ),
  });
}

/**
 * The registry version and spec to search at. A bare `model_version` (no version, no alias) asks
 * for that index version at the service's defaults, outside the registry; with a version or
 * alias it must be that version's own embedder.
 */
async function resolve(ctx: SearchContext, req: SearchRequest): Promise<Resolved> {
  if (req.modelVersion && !req.version && !req.alias)
    return { version: "", spec: defaultSpec(ctx.defaults, req.modelVersion), warnings: [] };
  const at = await ctx.resolver.resolve({
    tenant: req.tenant,
    version: req.version,
    alias: req.alias,
    routingKey: req.routingKey,
  });
  if (req.modelVersion && at.spec.embedder && req.modelVersion !== at.spec.embedder)
    throw invalidArgument(
      "model_version",
      `${at.version || "the default search"} searches index version ${at.spec.embedder}, not this one`,
    );
  return at;
}

/** INVALID_ARGUMENT naming the field when a value breaks its rule (never quoting the value). */
function checkField(field: string, value: string, rule: TextRule): void {
  const problem = textProblem(value, rule);
  if (problem) throw invalidArgument(field, problem);
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
