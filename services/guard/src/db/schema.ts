import type { OutboxTable } from "@tailor/outbox";

export type { OutboxTable };

import type { Generated } from "@tailor/db";

export interface PoliciesTable {
  tenant: string;
  /** The tenant's tailor.guard.v1.Policy as protobuf JSON, validated before it was stored. */
  policy: unknown;
  updated_at: Generated<Date>;
}

/** One verdict per chunk, made once at ingest, with the provenance of what was scanned. */
export interface ChunkVerdictsTable {
  tenant: string;
  chunk_id: string;
  document_id: string;
  source: string;
  document_version: string;
  revision: string;
  action: string;
  /** tailor.guard.v1.Verdict as protobuf JSON, without the text (it is the chunk's own). */
  verdict: unknown;
  scanned_at: Generated<Date>;
}

export interface GuardDB {
  policies: PoliciesTable;
  chunk_verdicts: ChunkVerdictsTable;
  outbox: OutboxTable;
}
