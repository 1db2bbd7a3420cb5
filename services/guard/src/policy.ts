import type { Action as GuardAction, Policy as GuardPolicy, TopicRule } from "@tailor/guard";
import { Action, type Policy, type TopicRule as ProtoTopicRule } from "@tailor/proto";
import { checkText, FieldError, KEY_RULE, type TextRule } from "@tailor/service";
import { checkPattern } from "./pattern.js";

const ENTITY_TYPE = /^[A-Z][A-Z0-9_]{0,63}$/;
const TERM_RULE: TextRule = { maxBytes: 256, required: true, control: "reject" };
const MAX_THRESHOLDS = 64;
const MAX_ALLOWLIST = 10_000;
const MAX_ENTITIES = 64;
const MAX_RULES = 256;
const MAX_TERMS = 256;
export const DEFAULT_GROUNDING_THRESHOLD = 0.5;

/** The libs/guard action of a proto action; UNSPECIFIED means "the default". */
export function toGuardAction(a: Action): GuardAction | undefined {
  switch (a) {
    case Action.UNSPECIFIED:
      return undefined;
    case Action.ALLOW:
      return "allow";
    case Action.REDACT:
      return "redact";
    case Action.BLOCK:
      return "block";
    case Action.FLAG:
      return "flag";
    default: {
      const never: never = a;
      throw new Error(`unknown action ${String(never)}`);
    }
  }
}

export function toProtoAction(a: GuardAction): Action {
  switch (a) {
    case "allow":
      return Action.ALLOW;
    case "redact":
      return Action.REDACT;
    case "block":
      return Action.BLOCK;
    case "flag":
      return Action.FLAG;
    default: {
      const never: never = a;
      throw new Error(`unknown action ${String(never)}`);
    }
  }
}

function checkAction(field: string, a: Action): void {
  if (!Object.values(Action).includes(a))
    throw new FieldError(field, "is not an action (ALLOW, REDACT, BLOCK or FLAG)");
}

function checkUnit(field: string, x: number): void {
  if (!Number.isFinite(x) || x < 0 || x > 1) throw new FieldError(field, "must be in [0, 1]");
}

function checkRules(field: string, rules: readonly ProtoTopicRule[]): void {
  if (rules.length > MAX_RULES)
    throw new FieldError(field, `holds ${rules.length} rules, over the limit of ${MAX_RULES}`);
  for (const [i, r] of rules.entries()) {
    checkText(`${field}[${i}].name`, r.name, KEY_RULE);
    checkAction(`${field}[${i}].action`, r.action);
    if (r.terms.length === 0) throw new FieldError(`${field}[${i}].terms`, "is required");
    if (r.terms.length > MAX_TERMS)
      throw new FieldError(`${field}[${i}].terms`, `holds ${r.terms.length}, over ${MAX_TERMS}`);
    for (const [j, t] of r.terms.entries()) checkText(`${field}[${i}].terms[${j}]`, t, TERM_RULE);
  }
}

/** Refuses a policy that could not be applied, naming the field (e.g. `policy.denied[2].terms[0]`). */
export function checkPolicy(p: Policy, field = "policy"): void {
  const thresholds = Object.entries(p.piiThresholds);
  if (thresholds.length > MAX_THRESHOLDS)
    throw new FieldError(`${field}.pii_thresholds`, `holds over ${MAX_THRESHOLDS} types`);
  for (const [type, min] of thresholds) {
    if (!ENTITY_TYPE.test(type))
      throw new FieldError(`${field}.pii_thresholds`, "keys must match [A-Z][A-Z0-9_]{0,63}");
    checkUnit(`${field}.pii_thresholds[${type}]`, min);
  }
  if (p.allowlist.length > MAX_ALLOWLIST)
    throw new FieldError(`${field}.allowlist`, `holds over ${MAX_ALLOWLIST} terms`);
  for (const [i, t] of p.allowlist.entries()) checkText(`${field}.allowlist[${i}]`, t, TERM_RULE);
  if (p.customEntities.length > MAX_ENTITIES)
    throw new FieldError(`${field}.custom_entities`, `holds over ${MAX_ENTITIES} entities`);
  for (const [i, c] of p.customEntities.entries()) {
    const f = `${field}.custom_entities[${i}]`;
    if (!ENTITY_TYPE.test(c.type))
      throw new FieldError(`${f}.type`, "must match [A-Z][A-Z0-9_]{0,63}");
    checkPattern(`${f}.pattern`, c.pattern);
    checkUnit(`${f}.score`, c.score);
  }
  checkRules(`${field}.denied`, p.denied);
  checkRules(`${field}.allowed`, p.allowed);
  checkAction(`${field}.off_topic_action`, p.offTopicAction);
  checkAction(`${field}.pii_action`, p.piiAction);
  checkUnit(`${field}.injection_threshold`, p.injectionThreshold);
  checkAction(`${field}.injection_action`, p.injectionAction);
  checkUnit(`${field}.grounding_threshold`, p.groundingThreshold);
  checkAction(`${field}.grounding_action`, p.groundingAction);
}

/** Where a text is checked: the injection default differs (block a question, flag content). */
export type Stage = "input" | "output" | "content" | "scan";

const topics = (rules: readonly ProtoTopicRule[], fallback: GuardAction): TopicRule[] =>
  rules.map((r) => ({ name: r.name, terms: r.terms, action: toGuardAction(r.action) ?? fallback }));

/** The libs/guard policy of a (checked) proto policy, for one stage. */
export function toGuardPolicy(p: Policy, stage: Stage): GuardPolicy {
  // An answer is checked for PII, policy and grounding; its injection score is reported only.
  const injectionDefault: GuardAction =
    stage === "content" ? "flag" : stage === "output" ? "allow" : "block";
  return {
    pii: {
      thresholds: p.piiThresholds,
      allowlist: p.allowlist,
      customPatterns: p.customEntities.map((c) => ({
        name: c.type,
        pattern: c.pattern,
        score: c.score > 0 ? c.score : 0.9,
      })),
    },
    piiDefault: toGuardAction(p.piiAction) ?? "redact",
    denied: topics(p.denied, "block"),
    // Off-topic applies to questions only: an answer or a document is not a question.
    allowedTopics: stage === "input" ? topics(p.allowed, "allow") : [],
    offTopicAction: toGuardAction(p.offTopicAction) ?? "flag",
    injectionThreshold: p.injectionThreshold > 0 ? p.injectionThreshold : undefined,
    injectionAction:
      stage === "output" ? "allow" : (toGuardAction(p.injectionAction) ?? injectionDefault),
  };
}
