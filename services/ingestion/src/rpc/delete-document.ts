import { create } from "@bufbuild/protobuf";
import {
  type DeleteDocumentRequest,
  type DeleteDocumentResponse,
  DeleteDocumentResponseSchema,
} from "@tailor/proto";
import { notFound, requireField } from "@tailor/service";
import type { IngestionContext } from "../context.js";
import { validateScope } from "./ingest-documents.js";

export async function deleteDocument(
  ctx: IngestionContext,
  req: DeleteDocumentRequest,
): Promise<DeleteDocumentResponse> {
  validateScope(req.tenant, req.source);
  requireField("id", req.id);
  const r = await ctx.store.delete({ tenant: req.tenant, source: req.source, id: req.id });
  if (!r.found) throw notFound(`document ${req.source}/${req.id} of tenant ${req.tenant}`);
  return create(DeleteDocumentResponseSchema, { chunksRetired: r.retired });
}
