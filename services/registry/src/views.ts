import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import {
  type Alias,
  AliasSchema,
  GeneratorSpecSchema,
  LineageSchema,
  type ModelSummary,
  ModelSummarySchema,
  type ModelVersion,
  ModelVersionSchema,
  RetrievalSpecSchema,
  VersionState,
} from "@tailor/proto";
import type { VersionStateName } from "./db/schema.js";
import type { AliasRow, VersionRow } from "./store.js";

const STATES: Record<VersionStateName, VersionState> = {
  candidate: VersionState.CANDIDATE,
  promoted: VersionState.PROMOTED,
  rejected: VersionState.REJECTED,
};

/** A stored version as the API shows it, with the aliases that point at it now. */
export function toModelVersion(row: VersionRow, aliases: readonly string[]): ModelVersion {
  const lineage = fromJson(LineageSchema, row.lineage as JsonValue);
  lineage.reports = [...row.reports];
  return create(ModelVersionSchema, {
    tenant: row.tenant,
    model: row.model,
    version: row.version,
    // Either may be null: generator versions hold no RetrievalSpec, guard versions neither.
    ...(row.spec != null && { spec: fromJson(RetrievalSpecSchema, row.spec as JsonValue) }),
    ...(row.generator != null && {
      generator: fromJson(GeneratorSpecSchema, row.generator as JsonValue),
    }),
    lineage,
    state: STATES[row.state],
    createdAt: row.created_at.toISOString(),
    aliases: [...aliases],
    rejection: row.rejection,
  });
}

export function toAlias(row: AliasRow): Alias {
  return create(AliasSchema, {
    name: row.alias,
    version: row.version,
    weight: row.weight,
    updatedAt: row.updated_at.toISOString(),
  });
}

export function toModelSummary(
  model: string,
  versions: number,
  aliases: readonly AliasRow[],
): ModelSummary {
  return create(ModelSummarySchema, {
    model,
    versions,
    latestVersion: versions > 0 ? `${model}@v${versions}` : "",
    aliases: aliases.map(toAlias),
  });
}
