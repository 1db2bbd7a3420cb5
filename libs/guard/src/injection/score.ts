import type { InjectionClassifier } from "./classifier.js";
import { heuristicScore, type InjectionMode, type Signal } from "./heuristics.js";

export interface InjectionOptions {
  /** "direct": a user's question; "indirect": retrieved content that the model will read. */
  mode?: InjectionMode;
  classifier?: InjectionClassifier;
  /** Decision threshold on the combined score (default: the classifier's, else 0.5). */
  threshold?: number;
}

export interface InjectionResult {
  score: number;
  detected: boolean;
  heuristic: number;
  classifier?: number;
  signals: Signal[];
}

const MAX_SEGMENTS = 2048;
const MAX_SEGMENT_CHARS = 2000;

/**
 * Injection score in [0, 1]: the larger of the rule score and the classifier's probability.
 * Retrieved content is scored per segment (planted instructions are a sentence or a block in
 * otherwise ordinary text), so a long benign document cannot dilute them.
 */
export function scoreInjection(text: string, options: InjectionOptions = {}): InjectionResult {
  const mode = options.mode ?? "direct";
  const h = heuristicScore(typeof text === "string" ? text : "", mode);
  let c: number | undefined;
  if (options.classifier && typeof text === "string") {
    const clf = options.classifier;
    c = clf.score(text);
    if (mode === "indirect") for (const seg of segments(text)) c = Math.max(c, clf.score(seg));
  }
  const score = Math.max(h.score, c ?? 0);
  const threshold = options.threshold ?? options.classifier?.threshold ?? 0.5;
  return {
    score,
    detected: score >= threshold,
    heuristic: h.score,
    classifier: c,
    signals: h.signals,
  };
}

/**
 * Paragraph/line/sentence segments, with fenced code blocks kept whole together with the line
 * that introduces them; bounded in count and length.
 */
export function segments(text: string): string[] {
  const out: string[] = [];
  const blocks = text.split(/(```[^`]{0,20000}```)/);
  for (let b = 0; b < blocks.length && out.length < MAX_SEGMENTS; b++) {
    const block = blocks[b]!;
    if (block.startsWith("```")) {
      const intro = out.pop() ?? "";
      out.push(`${intro}\n${block}`.slice(0, MAX_SEGMENT_CHARS));
      continue;
    }
    for (const line of block.split(/\n|(?<=[.!?])\s+(?=\S)/)) {
      const s = line.trim();
      if (s.length >= 3) out.push(s.slice(0, MAX_SEGMENT_CHARS));
      if (out.length >= MAX_SEGMENTS) break;
    }
  }
  return out;
}
