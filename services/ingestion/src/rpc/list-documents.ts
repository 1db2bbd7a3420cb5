import { create } from "@bufbuild/protobuf";
import {
  type ListDocumentsRequest,
  type ListDocumentsResponse,
  ListDocumentsResponseSchema,
} from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import type { IngestionContext } from "../context.js";
import { toDocument } from "./document-view.js";
import { validateScope } from "./ingest-documents.js";

interface Cursor {
  u: string;
  s: string;
  i: string;
}

/** Keyset paging, newest first: the token is the last row's (updated_at, source, id). */
export async function listDocuments(
  ctx: IngestionContext,
  req: ListDocumentsRequest,
): Promise<ListDocumentsResponse> {
  validateScope(req.tenant, req.source, false);
  const size = req.pageSize === 0 ? 100 : req.pageSize;
  if (size > 1000) throw invalidArgument("page_size", "must be between 1 and 1000");
  let cursor: Cursor | undefined;
  if (req.pageToken) cursor = decodeToken(req.pageToken);
  let q = ctx.database.db
    .selectFrom("documents")
    .selectAll()
    .where("tenant", "=", req.tenant)
    .where("deleted", "=", false);
  if (req.source) q = q.where("source", "=", req.source);
  if (cursor) {
    const c = cursor;
    q = q.where((eb) =>
      eb.or([
        eb("updated_at", "<", new Date(c.u)),
        eb.and([eb("updated_at", "=", new Date(c.u)), eb("source", ">", c.s)]),
        eb.and([
          eb("updated_at", "=", new Date(c.u)),
          eb("source", "=", c.s),
          eb("external_id", ">", c.i),
        ]),
      ]),
    );
  }
  const rows = await q
    .orderBy("updated_at", "desc")
    .orderBy("source")
    .orderBy("external_id")
    .limit(size + 1)
    .execute();
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  const next =
    rows.length > size && last
      ? encodeToken({ u: last.updated_at.toISOString(), s: last.source, i: last.external_id })
      : "";
  return create(ListDocumentsResponseSchema, {
    documents: page.map(toDocument),
    nextPageToken: next,
  });
}

function encodeToken(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

function decodeToken(t: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(t, "base64url").toString("utf8")) as Cursor;
    if (
      typeof c.u !== "string" ||
      typeof c.s !== "string" ||
      typeof c.i !== "string" ||
      Number.isNaN(Date.parse(c.u))
    )
      throw new Error("shape");
    return c;
  } catch {
    throw invalidArgument("page_token", "is not a token this service issued");
  }
}
