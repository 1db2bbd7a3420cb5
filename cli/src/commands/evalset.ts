import { toJson } from "@bufbuild/protobuf";
import { type EvalSet, EvalSetSchema } from "@tailor/proto";
import { printable } from "../args.js";
import { clientsFor } from "../clients.js";
import { parseCliConfig } from "../config.js";
import { CliError, EXIT, UsageError } from "../errors.js";
import { readInputFile } from "../input-file.js";
import type { Globals } from "../program.js";

interface ImportOpts {
  tenant: string;
  name: string;
  topics?: string;
  qrels?: string;
  jsonl?: string;
  replace?: boolean;
  keep?: "odd" | "even";
  json?: boolean;
}

/** Which import the options ask for; refuses a mix before any file is read. */
export function importForm(o: ImportOpts): "trec" | "jsonl" {
  if (o.jsonl) {
    if (o.topics || o.qrels) throw new UsageError("give either --jsonl or --topics and --qrels");
    if (o.keep) throw new UsageError("--keep splits TREC topics; it does not apply to --jsonl");
    return "jsonl";
  }
  if (!o.topics || !o.qrels)
    throw new UsageError("give --topics FILE and --qrels FILE (TREC), or --jsonl FILE");
  return "trec";
}

/** `tailor evalset import`: files checked (and TREC files parsed) here, then sent whole. */
export async function runImport(o: ImportOpts, g: Globals): Promise<number> {
  const form = importForm(o);
  const evaluator = clientsFor(parseCliConfig(process.env), g.timeoutMs).evaluator;
  let set: EvalSet | undefined;
  if (form === "trec") {
    const topics = await readInputFile(o.topics as string, "--topics");
    const qrels = await readInputFile(o.qrels as string, "--qrels");
    await checkTrec(topics, o.topics as string, qrels, o.qrels as string);
    ({ evalSet: set } = await evaluator.importTrec({
      tenant: o.tenant,
      name: o.name,
      topics,
      qrels,
      replace: Boolean(o.replace),
      keep: o.keep ?? "",
    }));
  } else {
    // The evaluator owns the JSONL schema; it answers with the file's line and field.
    const jsonl = await readInputFile(o.jsonl as string, "--jsonl");
    ({ evalSet: set } = await evaluator.importJsonl({
      tenant: o.tenant,
      name: o.name,
      jsonl,
      replace: Boolean(o.replace),
    }));
  }
  if (!set) throw new CliError("evaluator: the import answered without an eval set");
  console.log(o.json ? JSON.stringify(evalSetJson(set), null, 2) : evalSetLine(set, "imported "));
  return EXIT.ok;
}

/** Parses the TREC files as the evaluator will, so a bad line is named before the upload. */
async function checkTrec(topics: string, tFile: string, qrels: string, qFile: string) {
  const { parseQrels, parseTopics, isEvalSetParseError } = await import("@tailor/eval");
  try {
    const queries = parseTopics(topics, tFile);
    if (queries.length === 0) throw new CliError(`--topics ${tFile}: no qid<TAB>query lines`);
    parseQrels(qrels, qFile);
  } catch (err) {
    if (isEvalSetParseError(err)) throw new CliError(printable(err.message, 500));
    throw err;
  }
}

export async function runList(o: { tenant: string; json?: boolean }, g: Globals): Promise<number> {
  const { evalSets } = await clientsFor(
    parseCliConfig(process.env),
    g.timeoutMs,
  ).evaluator.listEvalSets({ tenant: o.tenant });
  if (o.json) console.log(JSON.stringify(evalSets.map(evalSetJson), null, 2));
  else if (evalSets.length === 0) console.log(`no eval sets for tenant ${o.tenant}`);
  else for (const s of evalSets) console.log(evalSetLine(s));
  return EXIT.ok;
}

/** `imported train: 50 queries, 48 judged, sha256 3f2a9c…` (one line, for people and logs). */
export function evalSetLine(s: EvalSet, prefix = ""): string {
  const created = s.createdAt ? `, created ${s.createdAt.replace(/\.\d+/, "")}` : "";
  return `${prefix}${printable(s.name, 128)}: ${s.queryCount} ${s.queryCount === 1 ? "query" : "queries"}, ${s.judgedQueryCount} judged, hash ${s.hash}${created}`;
}

/** The summary `--json` prints: the EvalSet message as protobuf JSON, without its queries. */
export function evalSetJson(s: EvalSet): Record<string, unknown> {
  const { queries: _, ...summary } = toJson(EvalSetSchema, s, {
    alwaysEmitImplicit: true,
  }) as Record<string, unknown>;
  return summary;
}
