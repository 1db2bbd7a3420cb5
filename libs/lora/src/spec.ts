import { createHash } from "node:crypto";
import { parseModelRef } from "@tailor/artifacts";
import { isValidToken } from "@tailor/bus";
import type { LoraJobSpec } from "@tailor/proto";
import { FieldError, ID_RULE, textProblem } from "@tailor/service";

/**
 * Projection names a job may adapt, as PEFT/transformers name the Llama-family linear layers.
 * A GPU worker maps them onto its framework's modules; the reference worker onto the tiny
 * decoder's initializers (see `TINY_INITIALIZER`).
 */
export const TARGET_MODULES = [
  "q_proj",
  "k_proj",
  "v_proj",
  "o_proj",
  "gate_proj",
  "up_proj",
  "down_proj",
] as const;
export type TargetModule = (typeof TARGET_MODULES)[number];

/** Bounds every worker accepts; a worker may refuse less (the reference worker's steps, rank). */
export const LORA_LIMITS = {
  maxRank: 256,
  maxSteps: 1_000_000,
  maxOutputName: 128,
} as const;

/** Object Store bucket names, as JetStream accepts them. */
const BUCKET_RULE = /^[A-Za-z0-9_-]{1,64}$/;
const ARTIFACT_NAME_RULE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The first field of `spec` that breaks the contract, with why; undefined when it is valid. */
export function loraSpecProblem(spec: LoraJobSpec): { field: string; reason: string } | undefined {
  const bad = (field: string, reason: string) => ({ field, reason });
  if (!isValidToken(spec.tenant)) return bad("tenant", "must match ^[A-Za-z0-9_-]{1,128}$");
  if (!isValidToken(spec.job)) return bad("job", "must match ^[A-Za-z0-9_-]{1,128}$");

  const baseProblem = textProblem(spec.baseModel, ID_RULE);
  if (baseProblem) return bad("base_model", baseProblem);
  const base = parseModelRef(spec.baseModel);
  if (typeof base === "string") return bad("base_model", base);
  if (base.version === "")
    return bad("base_model", "must name an exact version (name@version), not the newest");

  const d = spec.dataset;
  if (!d) return bad("dataset", "is required");
  if (!BUCKET_RULE.test(d.bucket)) return bad("dataset.bucket", "must match ^[A-Za-z0-9_-]{1,64}$");
  const nameProblem = textProblem(d.name, ID_RULE);
  if (nameProblem) return bad("dataset.name", nameProblem);
  // Tenants are walls: a job may only read its own tenant's objects.
  if (!d.name.startsWith(`${spec.tenant}/`) || d.name.length <= spec.tenant.length + 1)
    return bad("dataset.name", `must be an object under "${spec.tenant}/" (the job's tenant)`);
  if (d.size <= 0n) return bad("dataset.size", "must be the object's size in bytes (> 0)");
  if (!/^[0-9a-f]{64}$/.test(d.sha256))
    return bad("dataset.sha256", "must be the object's lower-case hex sha256");

  if (!Number.isInteger(spec.rank) || spec.rank < 1 || spec.rank > LORA_LIMITS.maxRank)
    return bad("rank", `must be an integer in 1..${LORA_LIMITS.maxRank}, got ${spec.rank}`);
  if (!Number.isFinite(spec.alpha) || spec.alpha <= 0)
    return bad("alpha", `must be a finite number > 0, got ${spec.alpha}`);

  if (spec.targetModules.length === 0)
    return bad("target_modules", `must name at least one of ${TARGET_MODULES.join(", ")}`);
  const seen = new Set<string>();
  for (const [i, m] of spec.targetModules.entries()) {
    if (!(TARGET_MODULES as readonly string[]).includes(m))
      return bad(
        `target_modules[${i}]`,
        `${JSON.stringify(m.slice(0, 64))} is not one of ${TARGET_MODULES.join(", ")}`,
      );
    if (seen.has(m)) return bad(`target_modules[${i}]`, `${m} is named twice`);
    seen.add(m);
  }

  if (!Number.isInteger(spec.steps) || spec.steps < 1 || spec.steps > LORA_LIMITS.maxSteps)
    return bad("steps", `must be an integer in 1..${LORA_LIMITS.maxSteps}, got ${spec.steps}`);
  if (!Number.isFinite(spec.learningRate) || spec.learningRate <= 0)
    return bad("learning_rate", `must be a finite number > 0, got ${spec.learningRate}`);

  if (
    spec.outputName.length > LORA_LIMITS.maxOutputName ||
    !ARTIFACT_NAME_RULE.test(spec.outputName)
  )
    return bad(
      "output_name",
      `must match ^[A-Za-z0-9][A-Za-z0-9._-]*$ and be at most ${LORA_LIMITS.maxOutputName} characters`,
    );
  return undefined;
}

/** Throws FieldError (`<field>: <reason>`) unless `spec` honours the contract. */
export function checkLoraSpec(spec: LoraJobSpec): void {
  const p = loraSpecProblem(spec);
  if (p) throw new FieldError(p.field, p.reason);
}

/**
 * The version under which a job's merged model is published: one job, one version, so a
 * redelivered or resubmitted job finds its own output instead of publishing a second one.
 * Tenant and job are tokens without dots, so the dot keeps the mapping one-to-one.
 */
export function loraArtifactVersion(tenant: string, job: string): string {
  return `lora-${tenant}.${job}`;
}

/** A digest of everything that decides a job's output, to tell a redelivery from a reused job id. */
export function loraSpecDigest(spec: LoraJobSpec): string {
  const canonical = JSON.stringify([
    spec.tenant,
    spec.job,
    spec.baseModel,
    spec.dataset?.bucket,
    spec.dataset?.name,
    spec.dataset?.sha256,
    String(spec.dataset?.size ?? 0n),
    spec.rank,
    spec.alpha,
    [...spec.targetModules].sort(),
    spec.steps,
    spec.learningRate,
    String(spec.seed),
    spec.outputName,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}
