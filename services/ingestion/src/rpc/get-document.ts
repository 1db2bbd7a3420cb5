import { create } from "@bufbuild/protobuf";
import {
  ChunkViewSchema,
  type GetDocumentRequest,
  type GetDocumentResponse,
  GetDocumentResponseSchema,
} from "@tailor/proto";
import { notFound, toConnectError } from "@tailor/service";
import type { IngestionContext } from "../context.js";
import { checkId } from "../document-rules.js";
import { toDocument } from "./document-view.js";
import { validateScope } from "./ingest-documents.js";

export async function getDocument(
  ctx: IngestionContext,
  req: GetDocumentRequest,
): Promise<GetDocumentResponse> {
  validateScope(req.tenant, req.source);
  try {
    checkId("id", req.id);
  } catch (err) {
    throw toConnectError(err);
  }
  const db = ctx.database.db;
  const row = await db
    .selectFrom("documents")
    .selectAll()
    .where("tenant", "=", req.tenant)
    .where("source", "=", req.source)
    .where("external_id", "=", req.id)
    .where("deleted", "=", false)
    .executeTakeFirst();
  if (!row) throw notFound(`document ${req.source}/${req.id} of tenant ${req.tenant}`);
  const chunks = req.includeChunks
    ? await db
        .selectFrom("chunks")
        .select(["chunk_id", "idx", "text", "token_count"])
        .where("tenant", "=", req.tenant)
        .where("source", "=", req.source)
        .where("external_id", "=", req.id)
        .orderBy("idx")
        .execute()
    : [];
  return create(GetDocumentResponseSchema, {
    document: toDocument(row),
    chunks: chunks.map((c) =>
      create(ChunkViewSchema, {
        chunkId: c.chunk_id,
        index: c.idx,
        text: c.text,
        tokenCount: c.token_count,
      }),
    ),
  });
}
