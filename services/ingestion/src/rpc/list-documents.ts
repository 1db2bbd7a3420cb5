import { create } from "@bufbuild/protobuf";
import { isValidToken } from "@tailor/bus";
import { sql } from "@tailor/db";
import {
  type ListDocumentsRequest,
  type ListDocumentsResponse,
  ListDocumentsResponseSchema,
} from "@tailor/proto";
import { ID_RULE, invalidArgument, textProblem } from "@tailor/service";
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
  // Microseconds since the epoch: a JavaScript Date would drop the microseconds PostgreSQL
  // keeps, and rows written in one transaction share their timestamp.
  const us = sql<string>`(extract(epoch from updated_at) * 1000000)::bigint`;
  let q = ctx.database.db
    .selectFrom("documents")
    .selectAll()
    .select(us.as("updated_us"))
    .where("tenant", "=", req.tenant)
    .where("deleted", "=", false);
  if (req.source) q = q.where("source", "=", req.source);
  if (cursor) {
    const c = cursor;
    q = q.where(
      sql<boolean>`(${us} < ${c.u}::bigint or (${us} = ${c.u}::bigint and (source, external_id) > (${c.s}, ${c.i})))`,
    );
  }
  const rows = await q
    .orderBy(us, "desc")
    .orderBy("source")
    .orderBy("external_id")
    .limit(size + 1)
    .execute();
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  const next =
    rows.length > size && last
      ? encodeToken({ u: String(last.updated_us), s: last.source, i: last.external_id })
      : "";
  return create(ListDocumentsResponseSchema, {
    documents: page.map(toDocument),
    nextPageToken: next,
  });
}

function encodeToken(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

const MAX_BIGINT = 2n ** 63n - 1n;

/**
 * Every part of a token goes into SQL, so each is checked as strictly as when it was issued:
 * the time fits a bigint, the source is a token, the id passes the id rule.
 */
function decodeToken(t: string): Cursor {
  try {
    if (t.length > 2048) throw new Error("size");
    const c = JSON.parse(Buffer.from(t, "base64url").toString("utf8")) as Cursor;
    if (
      typeof c.u !== "string" ||
      typeof c.s !== "string" ||
      typeof c.i !== "string" ||
      !/^\d{1,19}$/.test(c.u) ||
      BigInt(c.u) > MAX_BIGINT ||
      !isValidToken(c.s) ||
      textProblem(c.i, ID_RULE)
    )
      throw new Error("shape");
    return c;
  } catch {
    throw invalidArgument("page_token", "is not a token this service issued");
  }
}
