import { create } from "@bufbuild/protobuf";
import { isValidToken } from "@tailor/bus";
import {
  type IngestDocumentsRequest,
  type IngestDocumentsResponse,
  IngestDocumentsResponseSchema,
  IngestResultSchema,
  IngestStatus,
} from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import {
  isInvalidContentError,
  isUnsupportedContentTypeError,
  normalizeContentType,
} from "../content/index.js";
import type { IngestionContext } from "../context.js";
import type { UpsertOutcome } from "../document-store.js";

const SUPPORTED = new Set(["text/plain", "text/markdown", "text/html", "application/json"]);
const MAX_BATCH = 1000;

export async function ingestDocuments(
  ctx: IngestionContext,
  req: IngestDocumentsRequest,
): Promise<IngestDocumentsResponse> {
  validateScope(req.tenant, req.source);
  if (req.documents.length === 0) throw invalidArgument("documents", "must not be empty");
  if (req.documents.length > MAX_BATCH)
    throw invalidArgument("documents", `at most ${MAX_BATCH} per call`);
  const seen = new Set<string>();
  req.documents.forEach((d, i) => {
    if (!d.id.trim()) throw invalidArgument(`documents[${i}].id`, "is required");
    if (seen.has(d.id))
      throw invalidArgument(
        `documents[${i}].id`,
        `duplicate id ${JSON.stringify(d.id)} in the batch`,
      );
    seen.add(d.id);
    const ct = d.contentType ? normalizeContentType(d.contentType) : "text/plain";
    if (!SUPPORTED.has(ct))
      throw invalidArgument(
        `documents[${i}].content_type`,
        `unsupported ${JSON.stringify(d.contentType)}; use one of ${[...SUPPORTED].join(", ")}`,
      );
    const size = Buffer.byteLength(d.text);
    if (size > ctx.config.maxTextBytes)
      throw invalidArgument(
        `documents[${i}].text`,
        `is ${size} bytes, over the limit of ${ctx.config.maxTextBytes}`,
      );
  });
  const results = [];
  for (const [i, d] of req.documents.entries()) {
    let r: UpsertOutcome;
    try {
      r = await ctx.store.upsert({
        tenant: req.tenant,
        source: req.source,
        id: d.id,
        title: d.title,
        text: d.text,
        contentType: d.contentType,
        metadata: d.metadata,
      });
    } catch (err) {
      if (isUnsupportedContentTypeError(err) || isInvalidContentError(err))
        throw invalidArgument(`documents[${i}].text`, err.message);
      throw err;
    }
    results.push(
      create(IngestResultSchema, {
        id: d.id,
        status:
          r.status === "created"
            ? IngestStatus.CREATED
            : r.status === "updated"
              ? IngestStatus.UPDATED
              : IngestStatus.UNCHANGED,
        version: r.version,
        chunkCount: r.chunkCount,
      }),
    );
  }
  return create(IngestDocumentsResponseSchema, { results });
}

export function validateScope(
  tenant: string,
  source: string | undefined,
  sourceRequired = true,
): void {
  if (!tenant) throw invalidArgument("tenant", "is required");
  if (!isValidToken(tenant)) throw invalidArgument("tenant", "must match [A-Za-z0-9_-]{1,128}");
  if (source === undefined || (!source && !sourceRequired)) return;
  if (!source) throw invalidArgument("source", "is required");
  if (!isValidToken(source)) throw invalidArgument("source", "must match [A-Za-z0-9_-]{1,128}");
}
