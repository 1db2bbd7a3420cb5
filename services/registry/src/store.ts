import { create, type JsonValue, toJson } from "@bufbuild/protobuf";
import type { Subjects } from "@tailor/bus";
import { type Database, type Selectable, sql, type Transaction } from "@tailor/db";
import {
  GeneratorSpecSchema,
  type Lineage,
  LineageSchema,
  RetrievalSpecSchema,
} from "@tailor/proto";
import { FieldError } from "@tailor/service";
import type { AliasesTable, RegistryDB, VersionsTable } from "./db/schema.js";
import { RegistryNotFoundError, RegistryPreconditionError } from "./errors.js";
import { promotedRow, rejectedRow, rolledBackRow } from "./events.js";
import type { VersionPayload } from "./payload-rules.js";

type Trx = Transaction<RegistryDB>;
export type VersionRow = Selectable<VersionsTable>;
export type AliasRow = Selectable<AliasesTable>;

/** Reports one version keeps at most (AttachReport beyond it is refused). */
const MAX_VERSION_REPORTS = 1000;

export interface StoreOptions {
  subjects: Subjects;
  /** Called after a commit that wrote outbox rows, to wake the relay. */
  onOutbox: () => void;
}

/**
 * Writes of the registry. Every write locks its model's row first, so numbering, aliases and
 * their history change one at a time per model; every change to an alias writes its event to
 * the outbox in the same transaction. Every statement names the tenant.
 */
export class RegistryStore {
  constructor(
    private readonly database: Database<RegistryDB>,
    private readonly o: StoreOptions,
  ) {}

  /** A new immutable version; the model's first also becomes its `prod`. */
  register(tenant: string, model: string, payload: VersionPayload, lineage: Lineage) {
    return this.write(async (trx) => {
      await ensureModel(trx, tenant, model);
      return this.insertVersion(trx, tenant, model, payload, lineage);
    });
  }

  /** v1 from `payload` when the model has no version; else its existing v1 and `created` false. */
  ensureBase(tenant: string, model: string, payload: VersionPayload) {
    return this.write(async (trx) => {
      await ensureModel(trx, tenant, model);
      const m = await lockModel(trx, tenant, model);
      if (m && m.versions > 0) {
        const v1 = await versionRow(trx, tenant, `${model}@v1`);
        if (!v1) throw new Error(`model ${model} counts versions but has no v1`);
        return { version: v1, created: false };
      }
      const lineage = create(LineageSchema, { kind: "base" });
      return {
        version: await this.insertVersion(trx, tenant, model, payload, lineage),
        created: true,
      };
    });
  }

  promote(
    tenant: string,
    model: string,
    version: string,
    alias: string,
    weight: number,
    reason: string,
  ) {
    return this.write(async (trx) => {
      if (!(await lockModel(trx, tenant, model)))
        throw new RegistryNotFoundError(`version ${version}`);
      const v = await versionRow(trx, tenant, version);
      if (!v) throw new RegistryNotFoundError(`version ${version}`);
      if (v.state === "rejected")
        throw new RegistryPreconditionError(
          `version ${version} was rejected and is never served; register a new version instead`,
        );
      return this.point(trx, v, alias, weight, reason);
    });
  }

  rollback(tenant: string, model: string, alias: string, reason: string) {
    return this.write(async (trx) => {
      if (!(await lockModel(trx, tenant, model))) throw new RegistryNotFoundError(`model ${model}`);
      const current = await aliasRow(trx, tenant, model, alias);
      if (!current)
        throw new RegistryPreconditionError(
          `alias ${alias} of model ${model} points at no version: nothing to roll back`,
        );
      const stack = await trx
        .selectFrom("alias_history as h")
        .innerJoin("versions as v", (j) =>
          j.onRef("v.tenant", "=", "h.tenant").onRef("v.version", "=", "h.version"),
        )
        .select(["h.id", "h.version", "h.weight", "v.state"])
        .where("h.tenant", "=", tenant)
        .where("h.model", "=", model)
        .where("h.alias", "=", alias)
        .where("h.action", "=", "promote")
        .where("h.undone", "=", false)
        .orderBy("h.id", "desc")
        .execute();
      // Pop the current target and any entry that can no longer be served (rejected since).
      const target = stack.find((h) => h.version !== current.version && h.state !== "rejected");
      if (!target)
        throw new RegistryPreconditionError(
          `alias ${alias} of model ${model} has no earlier version to roll back to`,
        );
      const popped = stack.filter((h) => Number(h.id) > Number(target.id)).map((h) => h.id);
      if (popped.length > 0)
        await trx
          .updateTable("alias_history")
          .set({ undone: true })
          .where("id", "in", popped)
          .execute();
      const updated = await trx
        .updateTable("aliases")
        .set({ version: target.version, weight: target.weight, updated_at: sql`now()` })
        .where("tenant", "=", tenant)
        .where("model", "=", model)
        .where("alias", "=", alias)
        .returningAll()
        .executeTakeFirstOrThrow();
      await history(trx, updated, "rollback", current.version, reason);
      await trx
        .insertInto("outbox")
        .values(
          rolledBackRow(this.o.subjects, {
            tenant,
            model,
            alias,
            version: target.version,
            rolledBackVersion: current.version,
            reason,
          }),
        )
        .execute();
      return { alias: updated, rolledBackVersion: current.version };
    });
  }

  reject(tenant: string, model: string, version: string, reason: string, report: string) {
    return this.write(async (trx) => {
      if (!(await lockModel(trx, tenant, model)))
        throw new RegistryNotFoundError(`version ${version}`);
      const v = await versionRow(trx, tenant, version);
      if (!v) throw new RegistryNotFoundError(`version ${version}`);
      if (v.state === "rejected") return v;
      const serving = await aliasesOf(trx, tenant, version);
      if (serving.length > 0)
        throw new RegistryPreconditionError(
          `version ${version} is served by alias ${serving.join(", ")}; point it elsewhere (Promote or Rollback) first`,
        );
      const row = await trx
        .updateTable("versions")
        .set({
          state: "rejected",
          rejection: reason,
          reports: report ? appendReport(report) : sql`reports`,
        })
        .where("tenant", "=", tenant)
        .where("version", "=", version)
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .insertInto("outbox")
        .values(rejectedRow(this.o.subjects, { tenant, model, version, reason, report }))
        .execute();
      return row;
    });
  }

  /** Appends a report id to a version's lineage (once; a repeat is a no-op). */
  async attachReport(tenant: string, version: string, report: string): Promise<void> {
    await this.database.transaction(async (trx) => {
      const v = await trx
        .selectFrom("versions")
        .select(sql<number>`cardinality(reports)`.as("count"))
        .where("tenant", "=", tenant)
        .where("version", "=", version)
        .forUpdate()
        .executeTakeFirst();
      if (!v) throw new RegistryNotFoundError(`version ${version}`);
      if (v.count >= MAX_VERSION_REPORTS)
        throw new RegistryPreconditionError(
          `version ${version} already holds ${MAX_VERSION_REPORTS} reports`,
        );
      await trx
        .updateTable("versions")
        .set({ reports: appendReport(report) })
        .where("tenant", "=", tenant)
        .where("version", "=", version)
        .execute();
    });
  }

  private async write<T>(fn: (trx: Trx) => Promise<T>): Promise<T> {
    const r = await this.database.transaction(fn);
    this.o.onOutbox();
    return r;
  }

  /** Numbers and inserts a version (the model row must exist); v1 becomes `prod`. */
  private async insertVersion(
    trx: Trx,
    tenant: string,
    model: string,
    payload: VersionPayload,
    lineage: Lineage,
  ): Promise<VersionRow> {
    if (lineage.parentVersion && !(await versionRow(trx, tenant, lineage.parentVersion)))
      throw new FieldError("lineage.parent_version", "names no version of this tenant");
    // The update takes the model's row lock: concurrent registrations number one after another.
    const { versions: n } = await trx
      .updateTable("models")
      .set((eb) => ({ versions: eb("versions", "+", 1) }))
      .where("tenant", "=", tenant)
      .where("model", "=", model)
      .returning("versions")
      .executeTakeFirstOrThrow();
    const { reports, ...stored } = toJson(LineageSchema, lineage) as Record<string, JsonValue>;
    const row = await trx
      .insertInto("versions")
      .values({
        tenant,
        model,
        n,
        version: `${model}@v${n}`,
        spec: payload.spec ? JSON.stringify(toJson(RetrievalSpecSchema, payload.spec)) : null,
        generator: payload.generator
          ? JSON.stringify(toJson(GeneratorSpecSchema, payload.generator))
          : null,
        lineage: JSON.stringify(stored),
        reports: lineage.reports,
        state: "candidate",
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    if (n !== 1) return row;
    await this.point(trx, row, "prod", 1, "first version of the model");
    return (await versionRow(trx, tenant, row.version))!;
  }

  /** Points `alias` at `v` (model row locked), with its history, state and event. */
  private async point(trx: Trx, v: VersionRow, alias: string, weight: number, reason: string) {
    const { tenant, model, version } = v;
    const previous = (await aliasRow(trx, tenant, model, alias))?.version ?? "";
    const row = await trx
      .insertInto("aliases")
      .values({ tenant, model, alias, version, weight })
      .onConflict((oc) =>
        oc
          .columns(["tenant", "model", "alias"])
          .doUpdateSet({ version, weight, updated_at: sql`now()` }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    // Promoting the current target again changes its weight, not the history Rollback walks.
    if (previous !== version) await history(trx, row, "promote", previous, reason);
    if (alias === "prod") {
      const canary = await aliasRow(trx, tenant, model, "canary");
      if (canary?.version === version) await clearAlias(trx, canary, reason);
    }
    if (v.state !== "promoted")
      await trx
        .updateTable("versions")
        .set({ state: "promoted" })
        .where("tenant", "=", tenant)
        .where("version", "=", version)
        .execute();
    await trx
      .insertInto("outbox")
      .values(
        promotedRow(this.o.subjects, {
          tenant,
          model,
          alias,
          version,
          weight,
          previousVersion: previous,
          reason,
        }),
      )
      .execute();
    return { alias: row, previousVersion: previous };
  }
}

/** The array expression that appends `report` to `reports` unless it is there. */
function appendReport(report: string) {
  return sql<
    string[]
  >`case when ${report} = any(reports) then reports else array_append(reports, ${report}::text) end`;
}

async function ensureModel(trx: Trx, tenant: string, model: string): Promise<void> {
  await trx
    .insertInto("models")
    .values({ tenant, model })
    .onConflict((oc) => oc.columns(["tenant", "model"]).doNothing())
    .execute();
}

async function lockModel(trx: Trx, tenant: string, model: string) {
  return trx
    .selectFrom("models")
    .select(["versions"])
    .where("tenant", "=", tenant)
    .where("model", "=", model)
    .forUpdate()
    .executeTakeFirst();
}

export function versionRow(
  trx: Trx | Database<RegistryDB>["db"],
  tenant: string,
  version: string,
): Promise<VersionRow | undefined> {
  return trx
    .selectFrom("versions")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("version", "=", version)
    .executeTakeFirst();
}

function aliasRow(trx: Trx, tenant: string, model: string, alias: string) {
  return trx
    .selectFrom("aliases")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("model", "=", model)
    .where("alias", "=", alias)
    .executeTakeFirst();
}

export async function aliasesOf(
  trx: Trx | Database<RegistryDB>["db"],
  tenant: string,
  version: string,
): Promise<string[]> {
  const rows = await trx
    .selectFrom("aliases")
    .select("alias")
    .where("tenant", "=", tenant)
    .where("version", "=", version)
    .orderBy("alias")
    .execute();
  return rows.map((r) => r.alias);
}

async function history(
  trx: Trx,
  a: AliasRow,
  action: "promote" | "rollback",
  previous: string,
  reason: string,
): Promise<void> {
  await trx
    .insertInto("alias_history")
    .values({
      tenant: a.tenant,
      model: a.model,
      alias: a.alias,
      action,
      version: a.version,
      weight: a.weight,
      previous_version: previous,
      reason,
      // Only promotions are entries Rollback can return to.
      undone: action !== "promote",
    })
    .execute();
}

/** Removes an alias (a canary whose version became prod); its history can no longer be rolled back to. */
async function clearAlias(trx: Trx, a: AliasRow, reason: string): Promise<void> {
  await trx
    .deleteFrom("aliases")
    .where("tenant", "=", a.tenant)
    .where("model", "=", a.model)
    .where("alias", "=", a.alias)
    .execute();
  await trx
    .updateTable("alias_history")
    .set({ undone: true })
    .where("tenant", "=", a.tenant)
    .where("model", "=", a.model)
    .where("alias", "=", a.alias)
    .execute();
  await trx
    .insertInto("alias_history")
    .values({
      tenant: a.tenant,
      model: a.model,
      alias: a.alias,
      action: "clear",
      version: a.version,
      weight: a.weight,
      previous_version: a.version,
      reason,
      undone: true,
    })
    .execute();
}
