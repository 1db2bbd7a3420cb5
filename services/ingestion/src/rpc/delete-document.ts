import { create } from "@bufbuild/protobuf";
import {
  type DeleteDocumentRequest,
  type DeleteDocumentResponse,
  DeleteDocumentResponseSchema,
} from "@tailor/proto";
import { notFound, toConnectError } from "@tailor/service";
import type { IngestionContext } from "../context.js";
import { checkId } from "../document-rules.js";
import { callOrder } from "../position.js";
import { validateScope } from "./ingest-documents.js";

export async function deleteDocument(
  ctx: IngestionContext,
  req: DeleteDocumentRequest,
): Promise<DeleteDocumentResponse> {
  validateScope(req.tenant, req.source);
  try {
    checkId("id", req.id);
  } catch (err) {
    throw toConnectError(err);
  }
  const order = await callOrder(ctx.bus, ctx.logger);
  const r = await ctx.store.delete({ tenant: req.tenant, source: req.source, id: req.id }, order);
  if (!r.found) throw notFound(`document ${req.source}/${req.id} of tenant ${req.tenant}`);
  return create(DeleteDocumentResponseSchema, { chunksRetired: r.retired });
}
