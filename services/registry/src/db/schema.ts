import type { OutboxTable } from "@tailor/outbox";

export type { OutboxTable };

import type { Generated } from "@tailor/db";

interface ModelsTable {
  tenant: string;
  model: string;
  /** How many versions were numbered; bumped under the row lock, so numbering is race-free. */
  versions: Generated<number>;
  created_at: Generated<Date>;
}

export type VersionStateName = "candidate" | "promoted" | "rejected";

export interface VersionsTable {
  tenant: string;
  model: string;
  n: number;
  /** `<model>@v<n>`. */
  version: string;
  /** RetrievalSpec as protobuf JSON (null for models `generator` and `guard`); never changed. */
  spec: unknown;
  /** GeneratorSpec as protobuf JSON for model `generator`, else null; never changed. */
  generator: unknown;
  /** Lineage as protobuf JSON without `reports` (those are in `reports`); never changed. */
  lineage: unknown;
  /** Evaluation report ids, appended by AttachReport and Reject. */
  reports: Generated<string[]>;
  state: VersionStateName;
  rejection: Generated<string>;
  created_at: Generated<Date>;
}

export interface AliasesTable {
  tenant: string;
  model: string;
  alias: string;
  version: string;
  weight: number;
  updated_at: Generated<Date>;
}

type AliasAction = "promote" | "rollback" | "clear";

/**
 * Every change of an alias. `promote` rows not yet `undone` form the stack Rollback pops; the
 * other actions are kept for audit and are born undone.
 */
interface AliasHistoryTable {
  id: Generated<string>;
  tenant: string;
  model: string;
  alias: string;
  action: AliasAction;
  version: string;
  weight: number;
  previous_version: string;
  reason: string;
  undone: boolean;
  created_at: Generated<Date>;
}

export interface RegistryDB {
  models: ModelsTable;
  versions: VersionsTable;
  aliases: AliasesTable;
  alias_history: AliasHistoryTable;
  outbox: OutboxTable;
}
