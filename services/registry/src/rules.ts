import { create } from "@bufbuild/protobuf";
import { isValidToken } from "@tailor/bus";
import {
  type Lineage,
  LineageSchema,
  type LinearReranker,
  type RetrievalSpec,
  RetrievalSpecSchema,
} from "@tailor/proto";
import { checkText, FieldError, ID_RULE, KEY_RULE, type TextRule } from "@tailor/service";

// Every check throws FieldError naming the field as the client wrote it; the RPC layer turns it
// into INVALID_ARGUMENT. Strings are checked for NUL, surrogates, controls and size before any
// pattern, so the message says what is wrong without quoting the value.

const MODEL = /^[a-z0-9-]{1,64}$/;
const VERSION = /^([a-z0-9-]{1,64})@v([1-9][0-9]{0,8})$/;
const ALIAS = /^[a-z0-9-]{1,32}$/;
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const NAME_RULE: TextRule = { maxBytes: 256, required: true, control: "reject" };
const REASON_RULE: TextRule = { maxBytes: 4096, control: "whitespace" };
const OPTIONAL_ID: TextRule = { ...ID_RULE, required: false };
const LINEAGE_KINDS = [
  "",
  "reranker",
  "retrieval-params",
  "adapter",
  "all",
  "base",
  "guard",
  "lora",
];
const MAX_FEATURES = 256;
const MAX_ARTIFACTS = 64;
const MAX_REPORTS = 256;

/** The tenant every request is scoped to: required, and a valid subject token. */
export function checkTenant(tenant: string): string {
  if (!tenant) throw new FieldError("tenant", "is required: every request is scoped to one tenant");
  checkText("tenant", tenant, ID_RULE);
  if (!isValidToken(tenant)) throw new FieldError("tenant", "must match [A-Za-z0-9_-]{1,128}");
  return tenant;
}

export function checkModel(field: string, model: string): string {
  checkText(field, model, NAME_RULE);
  if (!MODEL.test(model)) throw new FieldError(field, "must match [a-z0-9-]{1,64}");
  return model;
}

/** A `<model>@v<n>` version name, split. */
export function checkVersion(field: string, version: string): { model: string; n: number } {
  checkText(field, version, NAME_RULE);
  const m = VERSION.exec(version);
  if (!m) throw new FieldError(field, "must be <model>@v<n> (model [a-z0-9-]{1,64}, n ≥ 1)");
  return { model: m[1]!, n: Number(m[2]) };
}

/** An alias name; empty means `prod`. */
export function checkAlias(field: string, alias: string): string {
  if (alias === "") return "prod";
  checkText(field, alias, NAME_RULE);
  if (!ALIAS.test(alias)) throw new FieldError(field, "must be prod, canary or [a-z0-9-]{1,32}");
  return alias;
}

/** The weight an alias gets: 1 for prod, (0, 1] required for canary, (0, 1] or 1 for others. */
export function checkWeight(field: string, alias: string, weight: number): number {
  if (alias === "prod") return 1;
  if (!Number.isFinite(weight)) throw new FieldError(field, "must be a finite number");
  if (weight === 0) {
    if (alias === "canary") throw new FieldError(field, "is required for canary, in (0, 1]");
    return 1;
  }
  if (weight <= 0 || weight > 1) throw new FieldError(field, "must be in (0, 1]");
  return weight;
}

export function checkReason(field: string, reason: string): string {
  return checkText(field, reason, REASON_RULE);
}

export function checkReport(field: string, report: string, required: boolean): string {
  return checkText(field, report, required ? ID_RULE : OPTIONAL_ID);
}

function checkRange(field: string, v: number, min: number, max: number): void {
  if (!Number.isFinite(v) || v < min || v > max)
    throw new FieldError(field, `must be a finite number in [${min}, ${max}]`);
}

/** An embedder named exactly: `name@version`. */
function checkEmbedder(field: string, embedder: string): string {
  checkText(field, embedder, NAME_RULE);
  const at = embedder.indexOf("@");
  const name = embedder.slice(0, at);
  const version = embedder.slice(at + 1);
  if (at < 0 || !SEGMENT.test(name) || !SEGMENT.test(version))
    throw new FieldError(field, "must be an exact name@version ([A-Za-z0-9._-] each)");
  return embedder;
}

/** A complete, in-range RetrievalSpec (a copy, so the caller's message is not kept). */
export function checkSpec(field: string, spec: RetrievalSpec | undefined): RetrievalSpec {
  if (!spec) throw new FieldError(field, "is required");
  checkEmbedder(`${field}.embedder`, spec.embedder);
  checkRange(`${field}.bm25_k1`, spec.bm25K1, 0, 10);
  checkRange(`${field}.bm25_b`, spec.bm25B, 0, 1);
  checkRange(`${field}.rm3_docs`, spec.rm3Docs, 0, 1000);
  checkRange(`${field}.rm3_terms`, spec.rm3Terms, 0, 1000);
  checkRange(`${field}.rm3_weight`, spec.rm3Weight, 0, 1);
  checkRange(`${field}.dense_weight`, spec.denseWeight, 0, 1);
  checkRange(`${field}.candidates`, spec.candidates, 1, 5000);
  if (spec.reranker) checkReranker(`${field}.reranker`, spec.reranker, spec.candidates);
  return create(RetrievalSpecSchema, spec);
}

function checkReranker(field: string, r: LinearReranker, candidates: number): void {
  const n = r.features.length;
  if (n === 0) throw new FieldError(`${field}.features`, "needs at least one feature");
  if (n > MAX_FEATURES) throw new FieldError(`${field}.features`, `has over ${MAX_FEATURES}`);
  for (const k of ["weights", "mean", "std"] as const)
    if (r[k].length !== n)
      throw new FieldError(`${field}.${k}`, `has ${r[k].length} values for ${n} features`);
  const seen = new Set<string>();
  for (const [i, f] of r.features.entries()) {
    checkText(`${field}.features[${i}]`, f, KEY_RULE);
    if (seen.has(f)) throw new FieldError(`${field}.features[${i}]`, "is named twice");
    seen.add(f);
    for (const k of ["weights", "mean"] as const)
      if (!Number.isFinite(r[k][i]))
        throw new FieldError(`${field}.${k}[${i}]`, "must be a finite number");
    const std = r.std[i]!;
    if (!Number.isFinite(std) || std <= 0)
      throw new FieldError(`${field}.std[${i}]`, "must be a finite number above 0");
  }
  checkRange(`${field}.depth`, r.depth, 1, candidates);
}

/** Lineage as given by the caller (reports start empty: AttachReport adds them). */
export function checkLineage(field: string, l: Lineage | undefined): Lineage {
  const lineage = create(LineageSchema, l ?? {});
  if (lineage.parentVersion) checkVersion(`${field}.parent_version`, lineage.parentVersion);
  checkText(`${field}.training_job`, lineage.trainingJob, OPTIONAL_ID);
  checkText(`${field}.dataset_hash`, lineage.datasetHash, OPTIONAL_ID);
  checkText(`${field}.kind`, lineage.kind, { maxBytes: 64, control: "reject" });
  if (!LINEAGE_KINDS.includes(lineage.kind))
    throw new FieldError(`${field}.kind`, `must be one of ${LINEAGE_KINDS.slice(1).join(", ")}`);
  if (lineage.artifacts.length > MAX_ARTIFACTS)
    throw new FieldError(`${field}.artifacts`, `has over ${MAX_ARTIFACTS}`);
  for (const [i, a] of lineage.artifacts.entries())
    checkText(`${field}.artifacts[${i}]`, a, ID_RULE);
  if (lineage.reports.length > MAX_REPORTS)
    throw new FieldError(`${field}.reports`, `has over ${MAX_REPORTS}`);
  for (const [i, r] of lineage.reports.entries()) checkText(`${field}.reports[${i}]`, r, ID_RULE);
  return lineage;
}
