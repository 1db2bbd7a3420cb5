import { create } from "@bufbuild/protobuf";
import { isValidToken } from "@tailor/bus";
import {
  type ListChunksRequest,
  type ListChunksResponse,
  ListChunksResponseSchema,
  ListedChunkSchema,
} from "@tailor/proto";
import { invalidArgument } from "@tailor/service";
import type { IngestionContext } from "../context.js";
import { validateScope } from "./ingest-documents.js";

const LIST_CHUNKS_DEFAULT_PAGE = 256;
const LIST_CHUNKS_MAX_PAGE = 1024;
/** More sources than any tenant plausibly filters by; bounds the SQL `in` list. */
const MAX_SOURCES = 256;
/** Chunk ids are the first 32 hex digits of a SHA-256 (see chunkId). */
const CHUNK_ID = /^[0-9a-f]{32}$/;

/**
 * Streams every current chunk of a tenant, ordered by chunk id, one page per message. Each page
 * is its own keyset query (`chunk_id > last`), so memory stays at one page whatever the tenant
 * holds, and a consumer that reconnects resumes with `after` = the last id it received. Chunks
 * written while the stream runs are included when their id sorts after the cursor; the caller
 * that needs every later change follows the chunk events as well.
 */
export async function* listChunks(
  ctx: IngestionContext,
  req: ListChunksRequest,
  signal?: AbortSignal,
): AsyncGenerator<ListChunksResponse> {
  validateScope(req.tenant, undefined);
  const size = req.pageSize === 0 ? LIST_CHUNKS_DEFAULT_PAGE : req.pageSize;
  if (size > LIST_CHUNKS_MAX_PAGE)
    throw invalidArgument("page_size", `must be between 1 and ${LIST_CHUNKS_MAX_PAGE}`);
  if (req.sources.length > MAX_SOURCES) throw invalidArgument("sources", `at most ${MAX_SOURCES}`);
  for (const [i, s] of req.sources.entries())
    if (!isValidToken(s)) throw invalidArgument(`sources[${i}]`, "must match [A-Za-z0-9_-]{1,128}");
  if (req.after && !CHUNK_ID.test(req.after))
    throw invalidArgument("after", "must be a chunk id (32 lowercase hex digits) or empty");
  const sources = [...new Set(req.sources)];
  let after = req.after;
  for (;;) {
    signal?.throwIfAborted();
    let q = ctx.database.db
      .selectFrom("chunks as c")
      .innerJoin("documents as d", (j) =>
        j
          .onRef("d.tenant", "=", "c.tenant")
          .onRef("d.source", "=", "c.source")
          .onRef("d.external_id", "=", "c.external_id"),
      )
      .select([
        "c.chunk_id",
        "c.source",
        "c.external_id",
        "c.idx",
        "c.text",
        "d.title",
        "d.metadata",
        "d.version",
      ])
      .where("c.tenant", "=", req.tenant)
      // A chunk of an older revision is deleted in the transaction that writes the new one; the
      // revision check keeps a reader from ever pairing a chunk with another revision's title.
      .whereRef("c.revision", "=", "d.revision")
      .where("d.deleted", "=", false);
    if (sources.length > 0) q = q.where("c.source", "in", sources);
    if (after) q = q.where("c.chunk_id", ">", after);
    const rows = await q.orderBy("c.chunk_id").limit(size).execute();
    if (rows.length === 0) return;
    yield create(ListChunksResponseSchema, {
      chunks: rows.map((r) =>
        create(ListedChunkSchema, {
          chunkId: r.chunk_id,
          source: r.source,
          documentId: r.external_id,
          title: r.title,
          index: r.idx,
          text: r.text,
          metadata: r.metadata,
          documentVersion: r.version,
        }),
      ),
    });
    if (rows.length < size) return;
    after = rows[rows.length - 1]!.chunk_id;
  }
}
