import {
  type EvalSet,
  isEvalSetParseError,
  parseQaJsonl,
  splitSide,
  trecEvalSet,
} from "@tailor/eval";
import { invalidArgument, utf8Bytes } from "@tailor/service";

/** Retrieval refuses longer queries, so a set holding one could never be evaluated. */
const MAX_QUERY_BYTES = 4096;

export interface ImportLimits {
  maxInputBytes: number;
  maxQueries: number;
  maxJudgments: number;
}

export type Keep = "odd" | "even" | "all";

export function parseKeep(keep: string): Keep {
  switch (keep) {
    case "":
      return "all";
    case "odd":
    case "even":
      return keep;
    default:
      throw invalidArgument("keep", 'must be "odd", "even" or empty');
  }
}

function checkSize(field: string, text: string, max: number): void {
  // A UTF-16 unit is at least one UTF-8 byte: no need to count bytes of a huge string first.
  if (text.length > max || utf8Bytes(text) > max)
    throw invalidArgument(field, `is ${utf8Bytes(text)} bytes, over the limit of ${max}`);
}

/** 1-based numbers of the non-blank lines, in order: the parsers make one query of each. */
function contentLines(text: string): number[] {
  const out: number[] = [];
  const rows = text.replace(/^\uFEFF/, "").split("\n");
  for (let i = 0; i < rows.length; i++) if (rows[i]!.trim() !== "") out.push(i + 1);
  return out;
}

function asFieldError(err: unknown): unknown {
  if (isEvalSetParseError(err)) return invalidArgument(err.file, `line ${err.line}: ${err.reason}`);
  return err;
}

function checkQueryBytes(set: EvalSet, file: string, lines: number[]): void {
  set.queries.forEach((q, i) => {
    const bytes = utf8Bytes(q.text);
    if (bytes > MAX_QUERY_BYTES)
      throw invalidArgument(
        file,
        `line ${lines[i] ?? "?"}: query is ${bytes} bytes, over the limit of ${MAX_QUERY_BYTES}`,
      );
  });
}

/** Parses a TREC topics file and qrels; errors name the file and line, never the content. */
export function parseTrecImport(
  topics: string,
  qrels: string,
  keep: Keep,
  limits: ImportLimits,
): EvalSet {
  checkSize("topics", topics, limits.maxInputBytes);
  checkSize("qrels", qrels, limits.maxInputBytes);
  checkSize("topics and qrels together", topics + qrels, limits.maxInputBytes);
  let set: EvalSet;
  try {
    set = trecEvalSet(
      { text: topics, file: "topics" },
      { text: qrels, file: "qrels" },
      { maxQueries: limits.maxQueries, maxJudgments: limits.maxJudgments },
    ).set;
  } catch (err) {
    throw asFieldError(err);
  }
  if (set.queries.length === 0) throw invalidArgument("topics", "holds no queries");
  const lines = contentLines(topics);
  checkQueryBytes(set, "topics", lines);
  if (keep === "all") return set;
  const side = keep === "odd" ? "train" : "heldOut";
  const kept: EvalSet = { queries: [], qrels: new Map() };
  set.queries.forEach((q, i) => {
    if (!/^\d{1,15}$/.test(q.id))
      throw invalidArgument(
        "topics",
        `line ${lines[i] ?? "?"}: keep "${keep}" needs integer query ids; this one is not`,
      );
    if (splitSide(q.id, { method: "parity" }) !== side) return;
    kept.queries.push(q);
    const judged = set.qrels.get(q.id);
    if (judged) kept.qrels.set(q.id, judged);
  });
  if (kept.queries.length === 0) throw invalidArgument("keep", `no query has an ${keep} id`);
  return kept;
}

/** Parses JSONL question/answer lines (see libs/eval qa-jsonl for the format). */
export function parseJsonlImport(jsonl: string, limits: ImportLimits): EvalSet {
  checkSize("jsonl", jsonl, limits.maxInputBytes);
  let set: EvalSet;
  try {
    set = parseQaJsonl(jsonl, "jsonl", {
      maxQueries: limits.maxQueries,
      maxJudgments: limits.maxJudgments,
    });
  } catch (err) {
    throw asFieldError(err);
  }
  if (set.queries.length === 0) throw invalidArgument("jsonl", "holds no queries");
  checkQueryBytes(set, "jsonl", contentLines(jsonl));
  return set;
}
