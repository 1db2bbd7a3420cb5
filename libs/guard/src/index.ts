export { createGuard, type Guard } from "./guard.js";
export {
  type Example,
  InjectionClassifier,
  type LinearModelJson,
  mulberry32,
  type TrainOptions,
} from "./injection/classifier.js";
export {
  type HeldOutText,
  type InjectionCorpus,
  type InjectionSplit,
  plantAttack,
  readInjectionCorpus,
  seededSplit,
  splitInjectionCorpus,
} from "./injection/dataset.js";
export { heuristicScore, type InjectionMode, type Signal } from "./injection/heuristics.js";
export {
  type InjectionOptions,
  type InjectionResult,
  scoreInjection,
  segments,
} from "./injection/score.js";
export {
  type CustomPattern,
  DEFAULT_THRESHOLD,
  detectPii,
  type PiiOptions,
  resolveOverlaps,
} from "./pii/detect.js";
export { type Gazetteer, loadGazetteer } from "./pii/gazetteer.js";
export { redact } from "./pii/redact.js";
export { type Counts, prf, type Span, spanCounts, tokenCounts } from "./pii/score.js";
export { type Finding, PII_TYPES, type PiiType } from "./pii/types.js";
export { ibanValid, ipv4Valid, ipv6Valid, luhnValid, ssnValid } from "./pii/validators.js";
export {
  ACTIONS,
  type Action,
  matchTopics,
  type Policy,
  type PolicyHit,
  strictest,
  type TopicRule,
  type Verdict,
  verdict,
} from "./policy.js";
