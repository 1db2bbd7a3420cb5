import { isValidToken } from "@tailor/bus";
import { checkText, FieldError, ID_RULE, type TextRule } from "@tailor/service";
import type { NewJob } from "./job-store.js";
import { isJobKind, JOB_KINDS } from "./job-view.js";

/** Seed used when a request gives 0 ("a fixed default seed"). */
export const DEFAULT_SEED = 42n;
const MAX_U64 = 2n ** 64n - 1n;
/** The same names the evaluator accepts for eval sets. */
const EVAL_SET_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** `<model>@v<n>`, as the registry names versions. */
const VERSION = /^([a-z0-9-]{1,64})@v[1-9][0-9]{0,8}$/;
const MODEL = /^[a-z0-9-]{1,64}$/;
const REASON_RULE: TextRule = { maxBytes: 4096, control: "whitespace" };
const OPTIONAL_ID: TextRule = { ...ID_RULE, required: false };

/** The fields of StartTrainingRequest and TrainingRequested alike. */
export interface TrainingRequestFields {
  tenant: string;
  kind: string;
  evalSet: string;
  baseVersion: string;
  seed: bigint;
  reason: string;
  heldoutEvalSet: string;
  requestId: string;
  model?: string;
}

/** The registry model a kind trains: `guard`, `generator` (lora) or `retrieval` (every other). */
export function modelOfKind(kind: string): string {
  return kind === "guard" ? "guard" : kind === "lora" ? "generator" : "retrieval";
}

/** The tenant every request is scoped to: required, and a valid subject token. */
export function checkTenant(tenant: string): string {
  if (!tenant) throw new FieldError("tenant", "is required: every request is scoped to one tenant");
  checkText("tenant", tenant, ID_RULE);
  if (!isValidToken(tenant)) throw new FieldError("tenant", "must match [A-Za-z0-9_-]{1,128}");
  return tenant;
}

export function checkJobId(id: string): string {
  checkText("id", id, ID_RULE);
  return id;
}

function checkEvalSet(field: string, name: string, required: boolean): string {
  if (name === "" && !required) return "";
  if (name === "") throw new FieldError(field, "is required");
  checkText(field, name, ID_RULE);
  if (!EVAL_SET_NAME.test(name))
    throw new FieldError(
      field,
      "must be 1-128 characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit",
    );
  return name;
}

/** Validates a training request (RPC or event); throws FieldError naming the field. */
export function checkTrainingRequest(r: TrainingRequestFields): NewJob {
  const tenant = checkTenant(r.tenant);
  checkText("kind", r.kind, { maxBytes: 64, required: true, control: "reject" });
  if (!isJobKind(r.kind)) throw new FieldError("kind", `must be one of ${JOB_KINDS.join(", ")}`);
  const guard = r.kind === "guard";
  const model = r.model || modelOfKind(r.kind);
  checkText("model", model, { maxBytes: 64, required: true, control: "reject" });
  if (!MODEL.test(model)) throw new FieldError("model", "must match [a-z0-9-]{1,64}");
  // Retrieval versions carry what the retrieval kinds produce (parameters, reranker, embedder);
  // guard versions name a trained injection classifier; generator versions a fine-tuned decoder.
  if (model !== modelOfKind(r.kind))
    throw new FieldError("model", `kind ${r.kind} trains ${modelOfKind(r.kind)}, not ${model}`);
  // A guard job trains on the injection data and the tenant's events: an eval set would be
  // silently ignored, so naming one is refused.
  if (guard && (r.evalSet !== "" || r.heldoutEvalSet !== ""))
    throw new FieldError(
      r.evalSet !== "" ? "eval_set" : "heldout_eval_set",
      "must be empty for kind guard (it trains on the injection data and the tenant's flagged questions)",
    );
  // Nothing judges a generator on a held-out set yet: a named one would be silently ignored.
  if (r.kind === "lora" && r.heldoutEvalSet !== "")
    throw new FieldError(
      "heldout_eval_set",
      "must be empty for kind lora (fine-tuned generators are not judged automatically yet)",
    );
  const evalSet = guard ? "" : checkEvalSet("eval_set", r.evalSet, true);
  const heldoutEvalSet = guard ? "" : checkEvalSet("heldout_eval_set", r.heldoutEvalSet, false);
  if (heldoutEvalSet !== "" && heldoutEvalSet === evalSet)
    throw new FieldError(
      "heldout_eval_set",
      "must differ from eval_set: a candidate is never judged on the queries it was trained on",
    );
  if (r.baseVersion !== "") {
    checkText("base_version", r.baseVersion, ID_RULE);
    const m = VERSION.exec(r.baseVersion);
    if (!m) throw new FieldError("base_version", "must be an exact version, <model>@v<n>");
    if (m[1] !== model) throw new FieldError("base_version", `must be a version of ${model}`);
  }
  if (r.seed < 0n || r.seed > MAX_U64) throw new FieldError("seed", "must be a uint64");
  checkText("reason", r.reason, REASON_RULE);
  checkText("request_id", r.requestId, OPTIONAL_ID);
  return {
    tenant,
    kind: r.kind,
    model,
    evalSet,
    heldoutEvalSet,
    baseVersion: r.baseVersion,
    seed: r.seed === 0n ? DEFAULT_SEED : r.seed,
    reason: r.reason,
    ...(r.requestId !== "" && { requestId: r.requestId }),
  };
}
