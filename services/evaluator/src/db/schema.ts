import type { OutboxTable } from "@tailor/outbox";

export type { OutboxTable };

import type { Generated } from "@tailor/db";

interface EvalSetsTable {
  tenant: string;
  name: string;
  /** SHA-256 of the queries and judgments (see eval-set-hash.ts). */
  hash: string;
  query_count: number;
  judged_query_count: number;
  created_at: Generated<Date>;
}

interface EvalQueriesTable {
  tenant: string;
  eval_set: string;
  id: string;
  /** Order of the query in the imported file. */
  position: number;
  text: string;
  /** Document id → grade. */
  judgments: Record<string, number>;
  answer: string | null;
}

interface RunsTable {
  id: string;
  tenant: string;
  /** Exact registry version searched (`retrieval@v3`). */
  version: string;
  eval_set: string;
  /** Hash of the eval set as it was evaluated, so a replaced set's old runs are told apart. */
  eval_set_hash: string;
  depth: number;
  /** Metric name → mean. */
  metrics: Record<string, number>;
  /** qid → metric name → value: the pairs of a later paired test. */
  per_query: Record<string, Record<string, number>>;
  latency_p50_ms: number;
  latency_p95_ms: number;
  queries: number;
  created_at: Generated<Date>;
}

export interface ReportsTable {
  id: string;
  tenant: string;
  /** evaluate or compare. */
  kind: string;
  markdown: string;
  svg: string;
  version: string;
  eval_set: string;
  /** pass, fail, or "" for a plain evaluation. */
  verdict: string;
  created_at: Generated<Date>;
}

export interface ThresholdsTable {
  tenant: string;
  /** Metric name → minimum mean. */
  minimums: Record<string, number>;
  negative_feedback: number;
  eval_set: string;
  train_eval_set: string;
  kind: string;
  schedule_minutes: number;
  /** When the scheduled evaluation is due next (null: only on demand). */
  next_run_at: Date | null;
  /** The prod version and time of the last training a scheduled regression asked for. */
  last_request_version: string | null;
  last_request_at: Date | null;
  updated_at: Generated<Date>;
}

interface FeedbackCountsTable {
  tenant: string;
  /** Negative ratings since the last training request. */
  negatives: number;
  /** FEEDBACK stream sequence of the last message counted (a redelivery is not counted twice). */
  last_seq: string;
}

interface GateDecisionsTable {
  tenant: string;
  candidate: string;
  eval_set: string;
  /** deciding, soaking (canary, prod promotion due at promote_at) or done. */
  state: string;
  report: string | null;
  verdict: string | null;
  action: string | null;
  canary_weight: Generated<number>;
  promote_at: Date | null;
  updated_at: Generated<Date>;
}

export interface EvaluatorDB {
  eval_sets: EvalSetsTable;
  eval_queries: EvalQueriesTable;
  runs: RunsTable;
  reports: ReportsTable;
  thresholds: ThresholdsTable;
  feedback_counts: FeedbackCountsTable;
  gate_decisions: GateDecisionsTable;
  outbox: OutboxTable;
}
