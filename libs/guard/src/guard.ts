import type { InjectionClassifier } from "./injection/classifier.js";
import type { InjectionMode } from "./injection/heuristics.js";
import { type InjectionResult, scoreInjection } from "./injection/score.js";
import { detectPii } from "./pii/detect.js";
import { type Gazetteer, loadGazetteer } from "./pii/gazetteer.js";
import { redact } from "./pii/redact.js";
import type { Finding } from "./pii/types.js";
import { type Policy, type Verdict, verdict } from "./policy.js";

/** A tenant's guard: gazetteers loaded once, then synchronous checks. */
export interface Guard {
  detectPii(text: string): Finding[];
  scoreInjection(text: string, mode?: InjectionMode): InjectionResult;
  redact(text: string): string;
  verdict(text: string, mode?: InjectionMode): Verdict;
}

/** Loads the gazetteers (once per process) and binds a policy and optional classifier. */
export async function createGuard(
  policy: Policy = {},
  classifier?: InjectionClassifier,
  gazetteer?: Gazetteer,
): Promise<Guard> {
  const gaz = gazetteer ?? (await loadGazetteer());
  return {
    detectPii: (text) => detectPii(text, gaz, policy.pii),
    scoreInjection: (text, mode) =>
      scoreInjection(text, { mode, classifier, threshold: policy.injectionThreshold }),
    redact: (text) => redact(text, detectPii(text, gaz, policy.pii)),
    verdict: (text, mode) => verdict(text, gaz, policy, { mode, classifier }),
  };
}
