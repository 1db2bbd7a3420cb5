import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { isValidToken } from "@tailor/bus";
import {
  type IngestDocumentsRequest,
  type IngestDocumentsResponse,
  IngestDocumentsResponseSchema,
  IngestResultSchema,
  IngestStatus,
} from "@tailor/proto";
import { invalidArgument, isFieldError, toConnectError } from "@tailor/service";
import {
  isInvalidContentError,
  isUnsupportedContentTypeError,
  normalizeContentType,
} from "../content/index.js";
import type { IngestionContext } from "../context.js";
import { checkDocument } from "../document-rules.js";
import type { DocumentInputData, PreparedDocument, UpsertOutcome } from "../document-store.js";
import { callOrder } from "../position.js";
import { isDocumentRejectedError } from "../store-errors.js";

const SUPPORTED = new Set(["text/plain", "text/markdown", "text/html", "application/json"]);
const MAX_BATCH = 1000;

/**
 * Validates every document first, then extracts and chunks all of them, and only then writes:
 * a bad document is refused with INVALID_ARGUMENT naming it before anything is stored.
 */
export async function ingestDocuments(
  ctx: IngestionContext,
  req: IngestDocumentsRequest,
): Promise<IngestDocumentsResponse> {
  validateScope(req.tenant, req.source);
  if (req.documents.length === 0) throw invalidArgument("documents", "must not be empty");
  if (req.documents.length > MAX_BATCH)
    throw invalidArgument("documents", `at most ${MAX_BATCH} per call`);
  const seen = new Set<string>();
  const docs: DocumentInputData[] = req.documents.map((d, i) => {
    try {
      checkDocument(d, ctx.limits, `documents[${i}].`);
    } catch (err) {
      throw toConnectError(err);
    }
    if (seen.has(d.id))
      throw invalidArgument(`documents[${i}].id`, "is a duplicate of an earlier id in the batch");
    seen.add(d.id);
    const ct = d.contentType ? normalizeContentType(d.contentType) : "text/plain";
    if (!SUPPORTED.has(ct))
      throw invalidArgument(
        `documents[${i}].content_type`,
        `unsupported ${JSON.stringify(d.contentType)}; use one of ${[...SUPPORTED].join(", ")}`,
      );
    return {
      tenant: req.tenant,
      source: req.source,
      id: d.id,
      title: d.title,
      text: d.text,
      contentType: d.contentType,
      metadata: d.metadata,
    };
  });
  const order = await callOrder(ctx.bus, ctx.logger);
  const prepared = ctx.store.prepare(docs.map((doc) => ({ doc, order })));
  for (const [i, p] of prepared.entries()) if ("error" in p) throw refused(i, p.error);
  const results = await ctx.store.apply(
    prepared.filter((p): p is PreparedDocument => !("error" in p)),
  );
  return create(IngestDocumentsResponseSchema, {
    results: results.map((r, i) => {
      if ("error" in r) throw refused(i, r.error);
      return create(IngestResultSchema, {
        id: docs[i]!.id,
        status: ingestStatus(r),
        version: r.version,
        chunkCount: r.chunkCount,
      });
    }),
  });
}

/** INVALID_ARGUMENT for a document the store cannot take; anything else stays an error. */
function refused(i: number, err: unknown): unknown {
  if (isUnsupportedContentTypeError(err) || isInvalidContentError(err))
    return invalidArgument(`documents[${i}].text`, err.message);
  if (isDocumentRejectedError(err))
    return invalidArgument(
      err.field ? `documents[${i}].${err.field}` : `documents[${i}]`,
      err.reason,
    );
  if (isFieldError(err))
    return new ConnectError(`documents[${i}].${err.message}`, Code.InvalidArgument);
  return err;
}

function ingestStatus(r: UpsertOutcome): IngestStatus {
  switch (r.status) {
    case "created":
      return IngestStatus.CREATED;
    case "updated":
      return IngestStatus.UPDATED;
    case "unchanged":
    case "stale":
      return IngestStatus.UNCHANGED;
    default: {
      const never: never = r.status;
      throw new Error(`unknown status ${String(never)}`);
    }
  }
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
