import { ID_RULE, type TextRule, textProblem } from "@tailor/service";
import type { Qrels } from "./trec-eval.js";

/** One query of an eval set; `answer` is the reference answer of a question/answer set. */
export interface EvalQuery {
  id: string;
  text: string;
  answer?: string;
}

/** Queries plus their judgments. Only judged queries are evaluated, as trec_eval does. */
export interface EvalSet {
  queries: EvalQuery[];
  qrels: Qrels;
}

/** Bounds on what parsing produces, whatever the size of the input. */
export interface ParseLimits {
  /** Most queries in one set (default 100,000). */
  maxQueries?: number;
  /** Most judgments (qid, docid) in one set (default 5,000,000). */
  maxJudgments?: number;
}

/** Query and answer text: tabs and line breaks allowed, other controls, NUL and lone surrogates not. */
export const QUERY_TEXT_RULE: TextRule = {
  maxBytes: 64 * 1024,
  required: true,
  control: "whitespace",
};

/** A bad line of an eval-set file; the message names the file and line, never the text. */
export class EvalSetParseError extends Error {
  override readonly name = "EvalSetParseError";
  readonly code = "invalid_eval_set";
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

export function isEvalSetParseError(err: unknown): err is EvalSetParseError {
  return err instanceof EvalSetParseError;
}

const DEFAULT_MAX_QUERIES = 100_000;
const DEFAULT_MAX_JUDGMENTS = 5_000_000;

/** Throws EvalSetParseError when a field breaks its rule. */
export function checkField(
  file: string,
  line: number,
  field: string,
  value: string,
  rule: TextRule,
): string {
  const problem = textProblem(value, rule);
  if (problem) throw new EvalSetParseError(file, line, `${field} ${problem}`);
  return value;
}

// Lines with their 1-based numbers; a leading byte-order mark is not part of the first id.
function* lines(text: string): Generator<[number, string]> {
  const rows = text.replace(/^\uFEFF/, "").split("\n");
  for (let i = 0; i < rows.length; i++) yield [i + 1, rows[i]!.replace(/\r$/, "")];
}

/**
 * Parses a topics file: one `qid<TAB>query` per line, blank lines skipped (the file
 * `tailor search --topics` reads). Duplicate ids are refused.
 */
export function parseTopics(text: string, file: string, limits: ParseLimits = {}): EvalQuery[] {
  const max = limits.maxQueries ?? DEFAULT_MAX_QUERIES;
  const queries: EvalQuery[] = [];
  const seen = new Set<string>();
  for (const [n, row] of lines(text)) {
    if (row.trim() === "") continue;
    const tab = row.indexOf("\t");
    if (tab <= 0) throw new EvalSetParseError(file, n, "expected qid<TAB>query");
    const id = checkField(file, n, "qid", row.slice(0, tab).trim(), ID_RULE);
    // Run and qrels lines are whitespace-separated, so such a qid could never be judged.
    if (/\s/.test(id)) throw new EvalSetParseError(file, n, "qid holds whitespace");
    const query = checkField(file, n, "query", row.slice(tab + 1).trim(), QUERY_TEXT_RULE);
    if (seen.has(id)) throw new EvalSetParseError(file, n, "duplicate qid");
    if (queries.length >= max) throw new EvalSetParseError(file, n, `more than ${max} queries`);
    seen.add(id);
    queries.push({ id, text: query });
  }
  return queries;
}

/** Parses TREC qrels (`qid iteration docid grade`; the iteration column is ignored). */
export function parseQrels(text: string, file: string, limits: ParseLimits = {}): Qrels {
  const max = limits.maxJudgments ?? DEFAULT_MAX_JUDGMENTS;
  const qrels: Qrels = new Map();
  let count = 0;
  for (const [n, row] of lines(text)) {
    const trimmed = row.trim();
    if (trimmed === "") continue;
    const parts = trimmed.split(/\s+/);
    if (parts.length !== 4) {
      throw new EvalSetParseError(
        file,
        n,
        `expected "qid 0 docid grade", got ${parts.length} fields`,
      );
    }
    const [qidText, , docText, gradeText] = parts as [string, string, string, string];
    const qid = checkField(file, n, "qid", qidText, ID_RULE);
    const docId = checkField(file, n, "docid", docText, ID_RULE);
    if (!/^-?\d{1,9}$/.test(gradeText)) {
      throw new EvalSetParseError(file, n, "grade must be an integer");
    }
    let judged = qrels.get(qid);
    if (!judged) {
      judged = new Map();
      qrels.set(qid, judged);
    }
    if (judged.has(docId)) throw new EvalSetParseError(file, n, "duplicate judgment");
    if (++count > max) throw new EvalSetParseError(file, n, `more than ${max} judgments`);
    judged.set(docId, Number(gradeText));
  }
  return qrels;
}

export interface TrecImport {
  set: EvalSet;
  /** Judged qids that are not in the topics file; their judgments are left out of the set. */
  droppedQrelsQueries: string[];
}

/**
 * An eval set from a topics file and a qrels file: every topic goes in; judgments of qids the
 * topics file does not hold are dropped (and reported), so one qrels file serves several topic
 * files (e.g. a train file and a held-out file).
 */
export function trecEvalSet(
  topics: { text: string; file: string },
  qrels: { text: string; file: string },
  limits: ParseLimits = {},
): TrecImport {
  const queries = parseTopics(topics.text, topics.file, limits);
  const all = parseQrels(qrels.text, qrels.file, limits);
  const ids = new Set(queries.map((q) => q.id));
  const kept: Qrels = new Map();
  const droppedQrelsQueries: string[] = [];
  for (const [qid, judged] of all) {
    if (ids.has(qid)) kept.set(qid, judged);
    else droppedQrelsQueries.push(qid);
  }
  return { set: { queries, qrels: kept }, droppedQrelsQueries };
}

/** The queries that have judgments (the ones trec_eval averages over). */
export function judgedQueries(set: EvalSet): EvalQuery[] {
  return set.queries.filter((q) => set.qrels.has(q.id));
}
