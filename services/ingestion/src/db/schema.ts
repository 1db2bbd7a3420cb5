import type { OutboxTable } from "@tailor/outbox";

export type { OutboxTable };

import type { Generated } from "@tailor/db";

export interface DocumentsTable {
  tenant: string;
  source: string;
  external_id: string;
  title: string;
  content_type: string;
  /** Content hash of the stored version. */
  version: string;
  /** Bumped on every stored change; part of chunk ids so a re-created document gets fresh ids. */
  revision: string;
  metadata: Record<string, string>;
  chunk_count: number;
  deleted: boolean;
  /**
   * Position of the last applied write in the DATA stream's order: a bus event's sequence, or
   * the stream's last sequence when an RPC call wrote. A bus event at or below it is stale.
   */
  data_position: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ChunksTable {
  chunk_id: string;
  tenant: string;
  source: string;
  external_id: string;
  idx: number;
  text: string;
  token_count: number;
  revision: string;
}

export interface IngestionDB {
  documents: DocumentsTable;
  chunks: ChunksTable;
  outbox: OutboxTable;
}
