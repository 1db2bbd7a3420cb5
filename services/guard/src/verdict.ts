import { create } from "@bufbuild/protobuf";
import { type Finding, type Action as GuardAction, strictest } from "@tailor/guard";
import { type GuardViolation, type Verdict, VerdictSchema } from "@tailor/proto";
import { ground } from "./grounding.js";
import type { Stage } from "./policy.js";
import { toProtoAction } from "./policy.js";
import type { TenantGuard } from "./tenant-guards.js";

type Init<T> = Omit<T, "$typeName" | "$unknown">;

/** A verdict, and (when the action is not allow) the audit record to publish: never raw text. */
export interface Judged {
  verdict: Verdict;
  violation?: Init<GuardViolation>;
}

const REMOVED = "\u0000removed";

/**
 * Runs the tenant's guard for one stage. `context` (output only) grounds each answer sentence;
 * unsupported ones get the policy's grounding action (redact removes them).
 */
export function judge(
  g: TenantGuard,
  stage: Stage,
  text: string,
  context?: readonly string[],
): Judged {
  const guard = g.guards[stage === "scan" ? "input" : stage];
  const policy = g.policies[stage === "scan" ? "input" : stage];
  const v = guard.verdict(text, stage === "content" ? "indirect" : "direct");
  const actions: GuardAction[] = [v.action];
  const groundingScores: number[] = [];
  const removals: Finding[] = [];
  const grounding =
    stage === "output" && context && context.length > 0
      ? ground(text, context, g.groundingThreshold)
      : [];
  for (const s of grounding) {
    groundingScores.push(s.support);
    if (s.supported || g.groundingAction === "allow") continue;
    actions.push(g.groundingAction);
    if (g.groundingAction === "redact")
      removals.push({ type: REMOVED, start: s.start, end: s.end, score: 1 });
  }
  const action = strictest(actions);
  const piiAction = policy.piiDefault ?? "redact";
  let after = "";
  if (action !== "block") {
    const inRemoved = (f: { start: number; end: number }) =>
      removals.some((r) => f.start < r.end && f.end > r.start);
    const edits: Finding[] = [...removals];
    if (piiAction === "redact") edits.push(...v.pii.filter((f) => !inRemoved(f)));
    for (const h of v.policy)
      if (h.action === "redact" && h.end > h.start && !inRemoved(h))
        edits.push({ type: "REDACTED", start: h.start, end: h.end, score: 1 });
    after = edits.length > 0 ? applyEdits(text, edits) : text;
  }
  const scores: Record<string, number> = {
    pii: v.pii.reduce((m, f) => Math.max(m, f.score), 0),
    injection: v.injection.score,
    policy: v.policy.length > 0 ? 1 : 0,
  };
  if (stage === "output") scores["grounding"] = Math.min(1, ...groundingScores);
  const verdict = create(VerdictSchema, {
    action: toProtoAction(action),
    pii: v.pii.map((f) => ({ type: f.type, start: f.start, end: f.end, score: f.score })),
    injection: {
      score: v.injection.score,
      detected: v.injection.detected,
      rules: v.injection.signals.map((s) => s.rule),
    },
    policy: v.policy.map((h) => ({
      rule: h.rule,
      action: toProtoAction(h.action),
      start: h.start,
      end: h.end,
    })),
    grounding: grounding.map((s) => ({
      start: s.start,
      end: s.end,
      support: s.support,
      supported: s.supported,
      bestContext: s.bestContext,
    })),
    text: after,
    scores,
  });
  if (action === "allow") return { verdict };
  const piiTypes: Record<string, number> = {};
  for (const f of v.pii) piiTypes[f.type] = (piiTypes[f.type] ?? 0) + 1;
  const rules = new Set(v.policy.map((h) => h.rule));
  if (grounding.some((s) => !s.supported)) rules.add("ungrounded");
  return {
    verdict,
    violation: {
      tenant: g.tenant,
      stage,
      action,
      scores,
      piiTypes,
      policyRules: [...rules],
      injectionRules: verdict.injection?.rules ?? [],
      // The audit record never holds raw text: what went out is redacted once more in full.
      sentRedacted: after === "" ? "" : guard.redact(after),
      chunkId: "",
      documentId: "",
      interaction: "",
    },
  };
}

/** Replaces each span by its placeholder (`[TYPE]`, or nothing for a removed sentence). */
function applyEdits(text: string, edits: Finding[]): string {
  const sorted = edits.sort((a, b) => a.start - b.start || b.end - a.end);
  const parts: string[] = [];
  let at = 0;
  for (const e of sorted) {
    const start = Math.max(at, e.start);
    if (e.end <= start) continue;
    parts.push(text.slice(at, start), e.type === REMOVED ? "" : `[${e.type}]`);
    at = e.end;
  }
  parts.push(text.slice(at));
  // Removing sentences leaves doubled spaces; one is enough.
  return removalsCollapse(
    parts.join(""),
    edits.some((e) => e.type === REMOVED),
  );
}

function removalsCollapse(s: string, removed: boolean): string {
  return removed ? s.replace(/[ \t]{2,}/g, " ").trim() : s;
}
