import type { Generated } from "@tailor/db";
import type { OutboxTable } from "@tailor/outbox";

export type { OutboxTable };

/** An API key: only a hash of its secret is kept. */
export interface ApiKeysTable {
  /** Public id, the `<id>` of `tlr_<id>_<secret>`. */
  id: string;
  tenant: string;
  name: string;
  /** SHA-256 of the secret (keys are 256-bit random, so a slow hash adds nothing). */
  secret_hash: Buffer;
  created_at: Generated<Date>;
  revoked_at: Date | null;
  last_used_at: Date | null;
  /** 0: the gateway's default. */
  requests_per_second: number;
  burst: number;
  token_budget: string;
}

/** One token bucket per key, shared by every replica (updated in one atomic statement). */
export interface RateBucketsTable {
  key_id: string;
  tokens: number;
  /** Milliseconds since the epoch of the last refill. */
  updated_ms: string;
}

/** Tokens counted against a key's budget per period; `reserved` is held by answers in flight. */
export interface BudgetsTable {
  key_id: string;
  /** e.g. `2026-11` for a monthly period. */
  period: string;
  used: string;
  reserved: string;
}

/** One answered request (redacted per the tenant's policy), for evaluation and training. */
export interface InteractionsTable {
  id: string;
  tenant: string;
  key_id: string;
  api: string;
  question: string;
  answer: string;
  /** tailor.events.v1.InteractionLogged as protobuf JSON (versions, passages, verdicts, usage). */
  record: unknown;
  created_at: Generated<Date>;
}

export interface FeedbackTable {
  id: string;
  tenant: string;
  interaction_id: string;
  key_id: string;
  rating: number;
  guard_false_positive: boolean;
  created_at: Generated<Date>;
}

export interface GatewayDB {
  api_keys: ApiKeysTable;
  rate_buckets: RateBucketsTable;
  budgets: BudgetsTable;
  interactions: InteractionsTable;
  feedback: FeedbackTable;
  outbox: OutboxTable;
}
