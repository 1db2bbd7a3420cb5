import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import {
  type GetChunkVerdictsRequest,
  type GetChunkVerdictsResponse,
  GetChunkVerdictsResponseSchema,
  VerdictSchema,
} from "@tailor/proto";
import type { GuardContext } from "../context.js";
import { rpc } from "../errors.js";
import { checkCount, checkId, checkTenant, MAX_CHUNK_IDS } from "../rules.js";

/** The stored verdicts of these chunks, in the order asked; unknown ids are left out. */
export function getChunkVerdicts(
  ctx: GuardContext,
  req: GetChunkVerdictsRequest,
): Promise<GetChunkVerdictsResponse> {
  return rpc(async () => {
    const tenant = checkTenant(req.tenant);
    checkCount("chunk_ids", req.chunkIds.length, MAX_CHUNK_IDS);
    for (const [i, id] of req.chunkIds.entries()) checkId(`chunk_ids[${i}]`, id);
    if (req.chunkIds.length === 0) return create(GetChunkVerdictsResponseSchema);
    const rows = await ctx.database.db
      .selectFrom("chunk_verdicts")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("chunk_id", "in", [...new Set(req.chunkIds)])
      .execute();
    const byId = new Map(rows.map((r) => [r.chunk_id, r]));
    const verdicts = [];
    for (const id of new Set(req.chunkIds)) {
      const r = byId.get(id);
      if (!r) continue;
      verdicts.push({
        chunkId: r.chunk_id,
        documentId: r.document_id,
        source: r.source,
        documentVersion: r.document_version,
        verdict: fromJson(VerdictSchema, r.verdict as JsonValue),
        scannedAt: r.scanned_at.toISOString(),
      });
    }
    return create(GetChunkVerdictsResponseSchema, { verdicts });
  });
}
