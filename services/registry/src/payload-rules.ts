import { create } from "@bufbuild/protobuf";
import {
  type GeneratorSpec,
  GeneratorSpecSchema,
  type Lineage,
  type RetrievalSpec,
} from "@tailor/proto";
import { checkText, FieldError, type TextRule } from "@tailor/service";
import { checkSpec } from "./rules.js";

// What a version holds depends on its model: `generator` versions a GeneratorSpec, `guard`
// versions (trained injection classifiers) only their artifact in the lineage, every other
// model a RetrievalSpec. Checked here so the store never sees a mismatched pair.

/** The model whose versions carry a GeneratorSpec. */
export const GENERATOR_MODEL = "generator";
/** The model whose versions are trained guard classifiers (artifact in lineage, no spec). */
export const GUARD_MODEL = "guard";

export const GENERATOR_KINDS = ["extractive", "onnx", "openai"] as const;
export type GeneratorKind = (typeof GENERATOR_KINDS)[number];

const EXACT_MODEL = /^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** An environment variable name; upper case, so a pasted key (mixed case, dashes) is refused. */
const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;
const NAME_RULE: TextRule = { maxBytes: 256, required: true, control: "reject" };
const URL_RULE: TextRule = { maxBytes: 2048, required: true, control: "reject" };
const ENV_RULE: TextRule = { maxBytes: 128, control: "reject" };
const TEMPLATE_RULE: TextRule = { maxBytes: 16 * 1024, control: "whitespace" };
export const MAX_GENERATOR_TOKENS = 32_768;
export const MAX_EXTRACTIVE_SENTENCES = 32;

/** What a version of some model holds, checked: exactly one of the two, or neither for guard. */
export interface VersionPayload {
  spec?: RetrievalSpec;
  generator?: GeneratorSpec;
}

interface PayloadRequest {
  spec?: RetrievalSpec | undefined;
  generator?: GeneratorSpec | undefined;
}

/** The checked payload of a RegisterVersion (guard needs its artifact named in `lineage`). */
export function checkRegisterPayload(
  model: string,
  req: PayloadRequest,
  lineage: Lineage,
): VersionPayload {
  if (model === GUARD_MODEL) {
    refuseSet("spec", req.spec, model);
    refuseSet("generator", req.generator, model);
    if (lineage.artifacts.length === 0)
      throw new FieldError(
        "lineage.artifacts",
        "must name the trained classifier's artifact for model guard",
      );
    return {};
  }
  return checkBasePayload(model, req);
}

/** The checked payload of an EnsureBase (guard has no base: its versions come from training). */
export function checkBasePayload(model: string, req: PayloadRequest): VersionPayload {
  if (model === GUARD_MODEL)
    throw new FieldError(
      "model",
      "guard has no base version: its versions are registered by training, with lineage.artifacts",
    );
  if (model === GENERATOR_MODEL) {
    refuseSet("spec", req.spec, model);
    return { generator: checkGeneratorSpec("generator", req.generator) };
  }
  refuseSet("generator", req.generator, model);
  return { spec: checkSpec("spec", req.spec) };
}

function refuseSet(field: string, value: unknown, model: string): void {
  if (value === undefined) return;
  const use =
    model === GENERATOR_MODEL ? "generator" : model === GUARD_MODEL ? "lineage.artifacts" : "spec";
  throw new FieldError(field, `must be unset for model ${model} (it uses ${use})`);
}

function checkRange(field: string, v: number, min: number, max: number): void {
  if (!Number.isFinite(v) || v < min || v > max)
    throw new FieldError(field, `must be a finite number in [${min}, ${max}]`);
}

function refuseFor(field: string, value: string, kind: string): void {
  if (value !== "") throw new FieldError(field, `must be empty for kind ${kind}`);
}

/**
 * A complete, in-range GeneratorSpec (a copy, with an empty kind read as `extractive`). Never
 * echoes a value: a key pasted where its variable's name belongs must not reach a message.
 */
export function checkGeneratorSpec(field: string, g: GeneratorSpec | undefined): GeneratorSpec {
  if (!g) throw new FieldError(field, "is required");
  checkText(`${field}.kind`, g.kind, { maxBytes: 32, control: "reject" });
  const kind = g.kind === "" ? "extractive" : g.kind;
  if (!(GENERATOR_KINDS as readonly string[]).includes(kind))
    throw new FieldError(`${field}.kind`, `must be one of ${GENERATOR_KINDS.join(", ")}`);
  checkRange(`${field}.max_tokens`, g.maxTokens, 0, MAX_GENERATOR_TOKENS);
  checkRange(`${field}.temperature`, g.temperature, 0, 2);
  checkRange(`${field}.max_sentences`, g.maxSentences, 0, MAX_EXTRACTIVE_SENTENCES);
  switch (kind as GeneratorKind) {
    case "extractive":
      refuseFor(`${field}.model`, g.model, kind);
      refuseFor(`${field}.base_url`, g.baseUrl, kind);
      refuseFor(`${field}.api_key_env`, g.apiKeyEnv, kind);
      refuseFor(`${field}.prompt_template`, g.promptTemplate, kind);
      break;
    case "onnx":
      checkText(`${field}.model`, g.model, NAME_RULE);
      if (!EXACT_MODEL.test(g.model))
        throw new FieldError(
          `${field}.model`,
          "must be an exact model-server name@version ([A-Za-z0-9._-] each)",
        );
      refuseFor(`${field}.base_url`, g.baseUrl, kind);
      refuseFor(`${field}.api_key_env`, g.apiKeyEnv, kind);
      checkTemplate(`${field}.prompt_template`, g.promptTemplate);
      break;
    case "openai":
      checkText(`${field}.model`, g.model, NAME_RULE);
      checkBaseUrl(`${field}.base_url`, g.baseUrl);
      checkText(`${field}.api_key_env`, g.apiKeyEnv, ENV_RULE);
      if (g.apiKeyEnv !== "" && !ENV_NAME.test(g.apiKeyEnv))
        throw new FieldError(
          `${field}.api_key_env`,
          "must be the NAME of an environment variable ([A-Z_][A-Z0-9_]{0,127}), never the key itself",
        );
      checkTemplate(`${field}.prompt_template`, g.promptTemplate);
      break;
    default: {
      const never: never = kind as never;
      throw new Error(`unhandled generator kind ${String(never)}`);
    }
  }
  return create(GeneratorSpecSchema, { ...g, kind });
}

function checkTemplate(field: string, template: string): void {
  checkText(field, template, TEMPLATE_RULE);
  if (template === "") return;
  for (const slot of ["{{context}}", "{{question}}"])
    if (!template.includes(slot)) throw new FieldError(field, `must contain ${slot}`);
}

function checkBaseUrl(field: string, raw: string): void {
  checkText(field, raw, URL_RULE);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FieldError(field, "must be an absolute http or https URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new FieldError(field, "must be an http or https URL");
  // A key belongs in the gateway's environment (api_key_env), never in a stored URL.
  if (url.username !== "" || url.password !== "")
    throw new FieldError(field, "must not hold credentials (use api_key_env)");
  if (url.search !== "" || url.hash !== "")
    throw new FieldError(field, "must not hold a query or fragment");
}
