import { create } from "@bufbuild/protobuf";
import type { Database, Selectable, Transaction } from "@tailor/db";
import { type Report, ReportSchema } from "@tailor/proto";
import type { EvaluatorDB, ReportsTable } from "./db/schema.js";

export interface ReportRecord {
  id: string;
  tenant: string;
  kind: "evaluate" | "compare";
  markdown: string;
  svg: string;
  version: string;
  evalSet: string;
  verdict: string;
}

export async function insertReport(trx: Transaction<EvaluatorDB>, r: ReportRecord): Promise<void> {
  await trx
    .insertInto("reports")
    .values({
      id: r.id,
      tenant: r.tenant,
      kind: r.kind,
      markdown: r.markdown,
      svg: r.svg,
      version: r.version,
      eval_set: r.evalSet,
      verdict: r.verdict,
    })
    .execute();
}

function toReport(r: Selectable<ReportsTable>): Report {
  return create(ReportSchema, {
    id: r.id,
    tenant: r.tenant,
    kind: r.kind,
    createdAt: r.created_at.toISOString(),
    markdown: r.markdown,
    svg: r.svg,
    version: r.version,
    evalSet: r.eval_set,
    verdict: r.verdict,
  });
}

/** One report of the tenant, or undefined (another tenant's report is not found either). */
export async function getReport(
  database: Database<EvaluatorDB>,
  tenant: string,
  id: string,
): Promise<Report | undefined> {
  const row = await database.db
    .selectFrom("reports")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("id", "=", id)
    .executeTakeFirst();
  return row && toReport(row);
}

/** The tenant's newest reports, newest first. */
export async function listReports(
  database: Database<EvaluatorDB>,
  tenant: string,
  limit: number,
): Promise<Report[]> {
  const rows = await database.db
    .selectFrom("reports")
    .selectAll()
    .where("tenant", "=", tenant)
    .orderBy("created_at", "desc")
    .orderBy("id")
    .limit(limit)
    .execute();
  return rows.map(toReport);
}
