import type { CallOptions } from "@connectrpc/connect";
import { Action, type Verdict } from "@tailor/proto";
import type { GatewayContext } from "../context.js";
import { StreamCheck } from "../output/stream-check.js";
import { call } from "./downstream.js";
import type { StreamOutputFactory } from "./orchestrator.js";

/** What the output check did to a whole answer. */
export interface CheckedOutput {
  /** The text to send (redacted, unsupported sentences removed); empty when blocked. */
  text: string;
  action: "allow" | "redact" | "flag" | "block";
  unsupportedSentences: number;
}

export function actionName(a: Action | undefined): "allow" | "redact" | "flag" | "block" {
  switch (a) {
    case Action.REDACT:
      return "redact";
    case Action.BLOCK:
      return "block";
    case Action.FLAG:
      return "flag";
    case Action.ALLOW:
    case Action.UNSPECIFIED:
    case undefined:
      return "allow";
    default: {
      const never: never = a;
      return never;
    }
  }
}

/** Answer sentences the guard found unsupported that are no longer in what is sent. */
function removedSentences(text: string, v: Verdict): number {
  let n = 0;
  for (const g of v.grounding) {
    if (g.supported) continue;
    const sentence = text.slice(g.start, g.end).trim();
    if (sentence && !v.text.includes(sentence)) n++;
  }
  return n;
}

/** One CheckOutput of a whole answer against the passages it was written from (Ask). */
export async function checkWhole(
  ctx: GatewayContext,
  tenant: string,
  text: string,
  context: readonly string[],
  options: CallOptions,
): Promise<CheckedOutput> {
  if (text === "") return { text, action: "allow", unsupportedSentences: 0 };
  const res = await call(
    "guard",
    ctx.logger,
    ctx.guard.checkOutput({ tenant, text, context: [...context] }, options),
  );
  const v = res.verdict;
  const action = actionName(v?.action);
  if (!v || action === "block") return { text: "", action: "block", unsupportedSentences: 0 };
  return { text: v.text, action, unsupportedSentences: removedSentences(text, v) };
}

/**
 * What the windows of one streamed answer found, for its one audit record (windows overlap, so
 * each PII type counts the most any one window held, not the sum).
 */
export class WindowFindings {
  readonly piiTypes = new Map<string, number>();
  readonly policyRules = new Set<string>();
  readonly injectionRules = new Set<string>();
  readonly scores = new Map<string, number>();

  add(v: Verdict): void {
    const counts = new Map<string, number>();
    for (const f of v.pii) counts.set(f.type, (counts.get(f.type) ?? 0) + 1);
    for (const [t, n] of counts) this.piiTypes.set(t, Math.max(n, this.piiTypes.get(t) ?? 0));
    for (const h of v.policy) this.policyRules.add(h.rule);
    for (const r of v.injection?.rules ?? []) this.injectionRules.add(r);
    for (const [d, x] of Object.entries(v.scores))
      this.scores.set(d, Math.max(x, this.scores.get(d) ?? 0));
  }
}

/**
 * The window check of a streamed answer: the guard's CheckOutput of the window against the
 * passages, as the hold-back window needs it (blocked: nothing to send). The guard records no
 * audit per window; `findings` gathers what the windows found for the gateway's one record.
 */
export function windowCheck(
  ctx: GatewayContext,
  tenant: string,
  context: readonly string[],
  options: CallOptions,
  findings: WindowFindings,
): (text: string) => Promise<{ text: string; action: CheckedOutput["action"] }> {
  return async (text) => {
    if (text === "") return { text, action: "allow" };
    const res = await call(
      "guard",
      ctx.logger,
      ctx.guard.checkOutput({ tenant, text, context: [...context], skipAudit: true }, options),
    );
    if (res.verdict) findings.add(res.verdict);
    const action = actionName(res.verdict?.action);
    if (!res.verdict || action === "block") return { text: "", action: "block" };
    return { text: res.verdict.text, action };
  };
}

/** Streamed answers checked through a hold-back window of `holdBackChars`. */
export function streamOutput(ctx: GatewayContext, holdBackChars: number): StreamOutputFactory {
  return (tenant, context, options) => {
    const findings = new WindowFindings();
    const check = new StreamCheck(
      windowCheck(ctx, tenant, context, options, findings),
      holdBackChars,
    );
    return Object.assign(check, { findings });
  };
}

/** Why the guard refused a question: rule and detector names only, never the text. */
export function blockReasons(v: Verdict | undefined): string {
  if (!v) return "no verdict";
  const reasons: string[] = [];
  if (v.injection?.detected)
    reasons.push(
      `prompt injection${v.injection.rules.length ? `: ${v.injection.rules.join(", ")}` : ""}`,
    );
  const rules = v.policy.filter((h) => h.action === Action.BLOCK).map((h) => h.rule);
  if (rules.length) reasons.push(`policy: ${[...new Set(rules)].join(", ")}`);
  const pii = [...new Set(v.pii.map((f) => f.type))];
  if (reasons.length === 0 && pii.length) reasons.push(`personal data: ${pii.join(", ")}`);
  return reasons.join("; ") || "policy";
}
