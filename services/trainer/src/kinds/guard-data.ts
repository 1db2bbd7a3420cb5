import { createHash } from "node:crypto";
import {
  type Example,
  type HeldOutText,
  type InjectionClassifier,
  type InjectionCorpus,
  scoreInjection,
  splitInjectionCorpus,
} from "@tailor/guard";
import type { TenantGuardEvents } from "./guard-events.js";

/** A tenant's flagged questions and reported false positives count this many times: corrections. */
const CORRECTION_WEIGHT = 4;
/** Of each kind of tenant example at most this many, the newest (training stays seconds long). */
const MAX_TENANT_EXAMPLES = 5000;
/** Below this many of one label a tenant's examples all train (too few to measure on). */
const MIN_TO_HOLD_OUT = 10;
const HELD_OUT_SHARE = 0.2;

/** What a guard job trains and measures on, with its counts (the job's dataset metrics). */
export interface GuardDataset {
  train: Example[];
  positives: HeldOutText[];
  negatives: HeldOutText[];
  hash: string;
  counts: Record<string, number>;
}

/**
 * The shared injection data split by `seed`, plus the tenant's flagged questions (positives),
 * reported false positives (negatives) and the questions it let through (negatives too: the
 * shared data's "text attacks" are ordinary questions planted in content, and without the
 * tenant's own traffic a classifier learns that any plain question is an attack). A tenant
 * example is held out by a hash of the seed and its text, so it stays on the same side when
 * more events arrive; while a kind has fewer than MIN_TO_HOLD_OUT they all train. The order of
 * the training examples is fixed (corpus order, then the tenant's by text), so the same data
 * and seed train the same model.
 */
export function buildGuardDataset(
  corpus: InjectionCorpus,
  events: TenantGuardEvents,
  seed: number,
): GuardDataset {
  const split = splitInjectionCorpus(corpus, seed);
  const train = [...split.train];
  const positives = [...split.positives];
  const negatives = [...split.negatives];
  const newest = (m: Map<string, string>) =>
    [...new Set(m.values())].slice(-MAX_TENANT_EXAMPLES).sort();
  const groups = [
    { name: "positives", label: 1, weight: CORRECTION_WEIGHT, texts: newest(events.flagged) },
    {
      name: "negatives",
      label: 0,
      weight: CORRECTION_WEIGHT,
      texts: newest(events.falsePositives),
    },
    { name: "allowed", label: 0, weight: 1, texts: newest(events.allowed) },
  ] as const;
  const counts: Record<string, number> = { guard_corpus_train_examples: split.train.length };
  for (const { name, label, weight, texts } of groups) {
    const heldOut = label === 1 ? positives : negatives;
    const hold = texts.length >= MIN_TO_HOLD_OUT;
    let trained = 0;
    for (const text of texts) {
      if (hold && heldOutShare(seed, text) < HELD_OUT_SHARE) {
        heldOut.push({ text, mode: "direct", family: `tenant-${name}` });
        continue;
      }
      trained++;
      for (let i = 0; i < weight; i++) train.push({ text, label });
    }
    counts[`guard_tenant_${name}`] = texts.length;
    counts[`guard_tenant_${name}_train`] = trained;
    counts[`guard_tenant_${name}_heldout`] = texts.length - trained;
  }
  counts["guard_train_examples"] = train.length;
  counts["guard_heldout_positives"] = positives.length;
  counts["guard_heldout_negatives"] = negatives.length;
  const h = createHash("sha256").update(`guard-dataset/1 seed ${seed}\n`);
  for (const e of train) h.update(`T${e.label} ${e.text.length}:${e.text}\n`);
  for (const p of positives) h.update(`P${p.mode} ${p.text.length}:${p.text}\n`);
  for (const n of negatives) h.update(`N${n.mode} ${n.text.length}:${n.text}\n`);
  return { train, positives, negatives, hash: h.digest("hex"), counts };
}

/** A number in [0, 1) fixed by the seed and the text. */
function heldOutShare(seed: number, text: string): number {
  const d = createHash("sha256").update(`${seed}\n${text}`).digest();
  return d.readUInt32BE(0) / 2 ** 32;
}

/** Held-out detection rates, the guard as served (rules and classifier) against rules alone. */
export interface GuardMetrics {
  recall: number;
  fpr: number;
  heuristicRecall: number;
  heuristicFpr: number;
  classifierRecall: number;
  classifierFpr: number;
  /** On the tenant's held-out negatives alone (its own traffic); 0 when none is held out. */
  tenantFpr: number;
  tenantNegatives: number;
}

export function measureGuard(
  classifier: InjectionClassifier,
  positives: readonly HeldOutText[],
  negatives: readonly HeldOutText[],
): GuardMetrics {
  const rate = (xs: readonly HeldOutText[], hit: (t: HeldOutText) => boolean) =>
    xs.length === 0 ? 0 : xs.filter(hit).length / xs.length;
  const served = (t: HeldOutText) => scoreInjection(t.text, { mode: t.mode, classifier }).detected;
  const rules = (t: HeldOutText) => scoreInjection(t.text, { mode: t.mode }).detected;
  const model = (t: HeldOutText) =>
    (scoreInjection(t.text, { mode: t.mode, classifier }).classifier ?? 0) >= classifier.threshold;
  const own = negatives.filter((n) => n.family?.startsWith("tenant-"));
  return {
    tenantFpr: rate(own, served),
    tenantNegatives: own.length,
    recall: rate(positives, served),
    fpr: rate(negatives, served),
    heuristicRecall: rate(positives, rules),
    heuristicFpr: rate(negatives, rules),
    classifierRecall: rate(positives, model),
    classifierFpr: rate(negatives, model),
  };
}

/** Highest held-out false-positive rate a classifier may have to be served. */
const MAX_FPR = 0.05;

/** Why a candidate must not be served, or undefined when it may be promoted. */
export function promotionProblem(m: GuardMetrics, positives: number): string | undefined {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  if (positives === 0) return "no held-out injection to measure recall on";
  if (m.fpr > MAX_FPR) return `held-out false-positive rate ${pct(m.fpr)} is above ${pct(MAX_FPR)}`;
  if (m.tenantNegatives > 0 && m.tenantFpr > MAX_FPR)
    return `false-positive rate ${pct(m.tenantFpr)} on the tenant's own held-out questions is above ${pct(MAX_FPR)}`;
  if (m.recall < m.heuristicRecall)
    return `held-out recall ${pct(m.recall)} is below the heuristics' ${pct(m.heuristicRecall)}`;
  return undefined;
}
