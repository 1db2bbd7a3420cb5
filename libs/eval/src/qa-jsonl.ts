import { ID_RULE } from "@tailor/service";
import { z } from "zod";
import {
  checkField,
  type EvalQuery,
  type EvalSet,
  EvalSetParseError,
  type ParseLimits,
  QUERY_TEXT_RULE,
} from "./eval-set.js";
import type { Qrels } from "./trec-eval.js";

/**
 * One line of a question/answer set (JSON Lines, UTF-8, one object per line):
 *
 *   {"id": "q1", "question": "…", "answer": "…", "relevant": ["doc-7", {"id": "doc-9", "grade": 2}]}
 *
 * - `id` (required): the query id, unique in the file.
 * - `question` (required): the query text that is searched.
 * - `answer` (optional): a reference answer, kept for answer-quality evaluation.
 * - `relevant` (optional, default []): relevant document ids; a bare id has grade 1, an object
 *   gives its grade (an integer; ≥ 1 is relevant, nDCG uses it as the gain). A line without
 *   relevant documents is kept but not scored by the retrieval metrics.
 * - `relevant_document_ids` (optional): the evaluator API's name, bare ids of grade 1; a line
 *   may hold it or `relevant`, not both.
 * Other keys are refused, so a misspelt `relevant` cannot silently leave a query unjudged.
 */
const qaLineSchema = z.strictObject({
  id: z.string(),
  question: z.string(),
  answer: z.string().optional(),
  relevant: z
    .array(
      z.union([
        z.string(),
        z.strictObject({ id: z.string(), grade: z.int().min(-1_000_000).max(1_000_000) }),
      ]),
    )
    .max(100_000)
    .default([]),
  relevant_document_ids: z.array(z.string()).max(100_000).optional(),
});

export type QaLine = z.input<typeof qaLineSchema>;

// A line longer than this is refused before JSON.parse builds anything from it.
const MAX_LINE_CHARS = 4 * 1024 * 1024;

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

/** Parses a JSONL question/answer set; errors name the file, the line and the field. */
export function parseQaJsonl(text: string, file: string, limits: ParseLimits = {}): EvalSet {
  const maxQueries = limits.maxQueries ?? 100_000;
  const maxJudgments = limits.maxJudgments ?? 5_000_000;
  const queries: EvalQuery[] = [];
  const qrels: Qrels = new Map();
  const seen = new Set<string>();
  let judgments = 0;
  const rows = text.replace(/^\uFEFF/, "").split("\n");
  for (let i = 0; i < rows.length; i++) {
    const n = i + 1;
    const row = rows[i]!;
    if (row.trim() === "") continue;
    if (row.length > MAX_LINE_CHARS) {
      throw new EvalSetParseError(file, n, `line longer than ${MAX_LINE_CHARS} characters`);
    }
    let json: unknown;
    try {
      json = JSON.parse(row);
    } catch {
      throw new EvalSetParseError(file, n, "not valid JSON");
    }
    const parsed = qaLineSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new EvalSetParseError(file, n, `${issuePath(issue.path) || "line"}: ${issue.message}`);
    }
    const line = parsed.data;
    if (line.relevant_document_ids !== undefined) {
      if (line.relevant.length > 0)
        throw new EvalSetParseError(file, n, "give relevant or relevant_document_ids, not both");
      line.relevant = line.relevant_document_ids;
    }
    const id = checkField(file, n, "id", line.id, ID_RULE);
    if (seen.has(id)) throw new EvalSetParseError(file, n, "duplicate id");
    seen.add(id);
    const query: EvalQuery = {
      id,
      text: checkField(file, n, "question", line.question.trim(), QUERY_TEXT_RULE),
    };
    if (line.answer !== undefined) {
      query.answer = checkField(file, n, "answer", line.answer, {
        ...QUERY_TEXT_RULE,
        required: false,
      });
    }
    if (queries.length >= maxQueries) {
      throw new EvalSetParseError(file, n, `more than ${maxQueries} queries`);
    }
    queries.push(query);
    if (line.relevant.length === 0) continue;
    const judged = new Map<string, number>();
    line.relevant.forEach((r, j) => {
      const [doc, grade] = typeof r === "string" ? [r, 1] : [r.id, r.grade];
      const docId = checkField(file, n, `relevant[${j}]`, doc, ID_RULE);
      if (judged.has(docId)) throw new EvalSetParseError(file, n, `relevant[${j}]: duplicate id`);
      if (++judgments > maxJudgments) {
        throw new EvalSetParseError(file, n, `more than ${maxJudgments} judgments`);
      }
      judged.set(docId, grade);
    });
    qrels.set(id, judged);
  }
  return { queries, qrels };
}
