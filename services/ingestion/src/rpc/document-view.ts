import { create } from "@bufbuild/protobuf";
import type { Selectable } from "@tailor/db";
import { type Document, DocumentSchema } from "@tailor/proto";
import type { DocumentsTable } from "../db/schema.js";

export function toDocument(row: Selectable<DocumentsTable>): Document {
  return create(DocumentSchema, {
    tenant: row.tenant,
    source: row.source,
    id: row.external_id,
    title: row.title,
    contentType: row.content_type,
    version: row.version,
    revision: BigInt(row.revision),
    metadata: row.metadata,
    chunkCount: row.chunk_count,
    updatedAt: row.updated_at.toISOString(),
  });
}
