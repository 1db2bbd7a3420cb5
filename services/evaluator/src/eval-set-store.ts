import { Code, ConnectError } from "@connectrpc/connect";
import type { Database } from "@tailor/db";
import type { EvalQuery, EvalSet } from "@tailor/eval";
import type { EvaluatorDB } from "./db/schema.js";
import { evalSetHash } from "./eval-set-hash.js";

/** Rows per insert: 6 parameters each stays well below PostgreSQL's 65,535. */
const INSERT_BATCH = 2000;

export interface EvalSetSummary {
  tenant: string;
  name: string;
  hash: string;
  queryCount: number;
  judgedQueryCount: number;
  createdAt: Date;
}

export interface StoredEvalSet extends EvalSetSummary {
  set: EvalSet;
}

/** NOT_FOUND naming the set (names are validated identifiers, safe to echo). */
export function evalSetNotFound(name: string): ConnectError {
  return new ConnectError(`eval_set "${name}" not found`, Code.NotFound);
}

function toSummary(r: {
  tenant: string;
  name: string;
  hash: string;
  query_count: number;
  judged_query_count: number;
  created_at: Date;
}): EvalSetSummary {
  return {
    tenant: r.tenant,
    name: r.name,
    hash: r.hash,
    queryCount: r.query_count,
    judgedQueryCount: r.judged_query_count,
    createdAt: r.created_at,
  };
}

/** Eval sets of every tenant; every method takes the tenant and reads or writes only its rows. */
export class EvalSetStore {
  constructor(private readonly database: Database<EvaluatorDB>) {}

  /** Stores a set; ALREADY_EXISTS unless `replace`. */
  async save(
    tenant: string,
    name: string,
    set: EvalSet,
    replace: boolean,
  ): Promise<EvalSetSummary> {
    const hash = evalSetHash(set);
    const judged = set.queries.filter((q) => set.qrels.has(q.id)).length;
    return this.database.transaction(async (trx) => {
      if (replace)
        await trx
          .deleteFrom("eval_sets")
          .where("tenant", "=", tenant)
          .where("name", "=", name)
          .execute();
      const row = await trx
        .insertInto("eval_sets")
        .values({
          tenant,
          name,
          hash,
          query_count: set.queries.length,
          judged_query_count: judged,
        })
        .onConflict((oc) => oc.columns(["tenant", "name"]).doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!row) {
        throw replace
          ? new ConnectError(`eval_set "${name}" was replaced concurrently; retry`, Code.Aborted)
          : new ConnectError(
              `eval_set "${name}" already exists (set replace to overwrite it)`,
              Code.AlreadyExists,
            );
      }
      for (let i = 0; i < set.queries.length; i += INSERT_BATCH) {
        await trx
          .insertInto("eval_queries")
          .values(
            set.queries.slice(i, i + INSERT_BATCH).map((q, j) => ({
              tenant,
              eval_set: name,
              id: q.id,
              position: i + j,
              text: q.text,
              judgments: Object.fromEntries(set.qrels.get(q.id) ?? []),
              answer: q.answer ?? null,
            })),
          )
          .execute();
      }
      return toSummary(row);
    });
  }

  async summary(tenant: string, name: string): Promise<EvalSetSummary | undefined> {
    const row = await this.database.db
      .selectFrom("eval_sets")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("name", "=", name)
      .executeTakeFirst();
    return row && toSummary(row);
  }

  /** The set with its queries in file order; NOT_FOUND naming it when the tenant has none. */
  async load(tenant: string, name: string): Promise<StoredEvalSet> {
    const summary = await this.summary(tenant, name);
    if (!summary) throw evalSetNotFound(name);
    const rows = await this.database.db
      .selectFrom("eval_queries")
      .select(["id", "text", "judgments", "answer"])
      .where("tenant", "=", tenant)
      .where("eval_set", "=", name)
      .orderBy("position")
      .execute();
    const queries: EvalQuery[] = [];
    const qrels: EvalSet["qrels"] = new Map();
    for (const r of rows) {
      const q: EvalQuery = { id: r.id, text: r.text };
      if (r.answer !== null) q.answer = r.answer;
      queries.push(q);
      const judged = Object.entries(r.judgments);
      if (judged.length > 0) qrels.set(r.id, new Map(judged));
    }
    return { ...summary, set: { queries, qrels } };
  }

  async list(tenant: string): Promise<EvalSetSummary[]> {
    const rows = await this.database.db
      .selectFrom("eval_sets")
      .selectAll()
      .where("tenant", "=", tenant)
      .orderBy("name")
      .execute();
    return rows.map(toSummary);
  }

  /** NOT_FOUND when the tenant has no such set. */
  async delete(tenant: string, name: string): Promise<void> {
    const r = await this.database.db
      .deleteFrom("eval_sets")
      .where("tenant", "=", tenant)
      .where("name", "=", name)
      .executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw evalSetNotFound(name);
  }
}
