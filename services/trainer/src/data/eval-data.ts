import { createHash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { EvalSet as LabelledSet } from "@tailor/eval";
import type { Remote } from "./remote.js";

/** The job's training labels: the train split's queries and judgments (document id → grade). */
export interface TrainSet extends LabelledSet {
  name: string;
  hash: string;
  /** Queries with at least one relevant (grade > 0) document. */
  judged: { id: string; text: string; relevant: Map<string, number> }[];
}

/**
 * The eval set the job trains on, from the evaluator. Refused with NOT_FOUND naming it when it
 * does not exist, FAILED_PRECONDITION when no query has a relevant document.
 */
export async function readTrainSet(
  remote: Remote,
  tenant: string,
  name: string,
  signal?: AbortSignal,
): Promise<TrainSet> {
  const set = await remote.getEvalSet(tenant, name, false, signal).catch((err: unknown) => {
    const ce = ConnectError.from(err);
    if (ce.code === Code.NotFound)
      throw new ConnectError(`eval_set: eval set ${name} not found`, Code.NotFound);
    throw ce;
  });
  const qrels = new Map<string, Map<string, number>>();
  const judged: TrainSet["judged"] = [];
  for (const q of set.queries) {
    const grades = new Map(Object.entries(q.judgments));
    if (grades.size > 0) qrels.set(q.id, grades);
    const relevant = new Map([...grades].filter(([, g]) => g > 0));
    if (relevant.size > 0 && q.text.trim() !== "")
      judged.push({ id: q.id, text: q.text, relevant });
  }
  if (judged.length === 0)
    throw new ConnectError(
      `eval_set: ${name} has no judged query (no query with a relevant document): nothing to train on`,
      Code.FailedPrecondition,
    );
  return {
    name,
    hash: set.hash || localHash(set.queries),
    queries: set.queries.map((q) => ({ id: q.id, text: q.text })),
    qrels,
    judged,
  };
}

function localHash(
  queries: { id: string; text: string; judgments: Record<string, number> }[],
): string {
  const h = createHash("sha256");
  for (const q of [...queries].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    h.update(`${q.id}\t${q.text}\n`);
    for (const [d, g] of Object.entries(q.judgments).sort(([a], [b]) => (a < b ? -1 : 1)))
      h.update(`\t${d}\t${g}\n`);
  }
  return h.digest("hex");
}
