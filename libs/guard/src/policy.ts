import type { InjectionClassifier } from "./injection/classifier.js";
import type { InjectionMode, Signal } from "./injection/heuristics.js";
import { scoreInjection } from "./injection/score.js";
import { detectPii, type PiiOptions } from "./pii/detect.js";
import type { Gazetteer } from "./pii/gazetteer.js";
import { redact } from "./pii/redact.js";
import type { Finding } from "./pii/types.js";

/** What to do with text that triggers a rule; ordered from mildest to strictest. */
export const ACTIONS = ["allow", "flag", "redact", "block"] as const;
export type Action = (typeof ACTIONS)[number];

/** A denied or allowed topic/term: any of `terms` (whole words, case-insensitive) matches. */
export interface TopicRule {
  name: string;
  terms: readonly string[];
  action: Action;
}

/** One tenant's guard policy. */
export interface Policy {
  pii?: PiiOptions;
  /** Action per PII type; types not listed use `piiDefault` (default "redact"). */
  piiActions?: Readonly<Record<string, Action>>;
  piiDefault?: Action;
  denied?: readonly TopicRule[];
  /** When set, text must match one of these topics or it gets `offTopicAction`. */
  allowedTopics?: readonly TopicRule[];
  offTopicAction?: Action;
  injectionThreshold?: number;
  injectionAction?: Action;
}

export interface PolicyHit {
  rule: string;
  term: string;
  action: Action;
  start: number;
  end: number;
}

export interface Verdict {
  pii: Finding[];
  injection: { score: number; detected: boolean; signals: Signal[] };
  policy: PolicyHit[];
  action: Action;
  /** The text with PII spans replaced by placeholders when the action is "redact". */
  redacted?: string;
}

const MAX_TERM_HITS = 1000;

/** Occurrences of each rule's terms as whole words (linear: one indexOf scan per term). */
export function matchTopics(text: string, rules: readonly TopicRule[]): PolicyHit[] {
  const hits: PolicyHit[] = [];
  const lower = text.toLowerCase();
  // toLowerCase can change length for a few characters (e.g. "İ"); then offsets are approximate
  // and we fall back to reporting the term without trusting its span.
  const sameLength = lower.length === text.length;
  for (const r of rules) {
    for (const term of r.terms) {
      const t = term.toLowerCase().trim();
      if (t.length === 0) continue;
      for (
        let at = lower.indexOf(t);
        at !== -1 && hits.length < MAX_TERM_HITS;
        at = lower.indexOf(t, at + 1)
      ) {
        if (isWordChar(lower[at - 1]) || isWordChar(lower[at + t.length])) continue;
        const start = sameLength ? at : 0;
        const end = sameLength ? at + t.length : 0;
        hits.push({ rule: r.name, term, action: r.action, start, end });
        break;
      }
    }
  }
  return hits;
}

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{N}_]/u.test(c);
}

export function strictest(actions: Iterable<Action>): Action {
  let best = 0;
  for (const a of actions) best = Math.max(best, ACTIONS.indexOf(a));
  return ACTIONS[best]!;
}

export interface VerdictOptions {
  mode?: InjectionMode;
  classifier?: InjectionClassifier;
}

/** Runs PII detection, injection scoring and topic rules, and picks the strictest action. */
export function verdict(
  text: string,
  gaz: Gazetteer,
  policy: Policy = {},
  options: VerdictOptions = {},
): Verdict {
  const safe = typeof text === "string" ? text : "";
  const pii = detectPii(safe, gaz, policy.pii);
  const inj = scoreInjection(safe, {
    mode: options.mode,
    classifier: options.classifier,
    threshold: policy.injectionThreshold,
  });
  const hits = matchTopics(safe, policy.denied ?? []);
  const actions: Action[] = ["allow"];
  for (const f of pii) actions.push(policy.piiActions?.[f.type] ?? policy.piiDefault ?? "redact");
  for (const h of hits) actions.push(h.action);
  if (policy.allowedTopics && policy.allowedTopics.length > 0) {
    if (matchTopics(safe, policy.allowedTopics).length === 0) {
      const action = policy.offTopicAction ?? "flag";
      hits.push({ rule: "off_topic", term: "", action, start: 0, end: 0 });
      actions.push(action);
    }
  }
  if (inj.detected) actions.push(policy.injectionAction ?? "block");
  const action = strictest(actions);
  const result: Verdict = {
    pii,
    injection: { score: inj.score, detected: inj.detected, signals: inj.signals },
    policy: hits,
    action,
  };
  if (action === "redact") {
    const toRedact = pii.filter(
      (f) => (policy.piiActions?.[f.type] ?? policy.piiDefault ?? "redact") === "redact",
    );
    const terms = hits.filter((h) => h.action === "redact" && h.end > h.start);
    result.redacted = redact(safe, [
      ...toRedact,
      ...terms.map((h) => ({ type: "REDACTED", start: h.start, end: h.end, score: 1 })),
    ]);
  }
  return result;
}
