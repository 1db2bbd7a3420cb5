import { create } from "@bufbuild/protobuf";
import type { EvalSet as Parsed } from "@tailor/eval";
import { EvalQuerySchema, type EvalSet, EvalSetSchema } from "@tailor/proto";
import type { EvalSetSummary } from "../eval-set-store.js";

/** The wire form of a stored set; queries only when given. */
export function evalSetView(s: EvalSetSummary, set?: Parsed): EvalSet {
  return create(EvalSetSchema, {
    tenant: s.tenant,
    name: s.name,
    createdAt: s.createdAt.toISOString(),
    hash: s.hash,
    queryCount: s.queryCount,
    judgedQueryCount: s.judgedQueryCount,
    queries: (set?.queries ?? []).map((q) =>
      create(EvalQuerySchema, {
        id: q.id,
        text: q.text,
        judgments: Object.fromEntries(set?.qrels.get(q.id) ?? []),
        answer: q.answer ?? "",
      }),
    ),
  });
}
