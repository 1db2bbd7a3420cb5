/** A labelled or predicted span for evaluation. */
export interface Span {
  type: string;
  start: number;
  end: number;
}

export interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

export interface Prf {
  precision: number;
  recall: number;
  f1: number;
}

export function prf(c: Counts): Prf {
  const precision = c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/**
 * Token-level counts per type (presidio-research style): each word token takes the type of the
 * span covering it, or "O". `ignore` types are dropped from gold and prediction alike (labels
 * the detector does not cover). The "ANY" entry counts PII-vs-not regardless of type.
 */
export function tokenCounts(
  text: string,
  gold: readonly Span[],
  pred: readonly Span[],
  ignore: ReadonlySet<string> = new Set(),
  into: Map<string, Counts> = new Map(),
): Map<string, Counts> {
  const label = (spans: readonly Span[], s: number, e: number) => {
    for (const sp of spans) if (sp.start < e && sp.end > s) return sp.type;
    return "O";
  };
  const bump = (type: string, k: keyof Counts) => {
    const c = into.get(type) ?? { tp: 0, fp: 0, fn: 0 };
    c[k]++;
    into.set(type, c);
  };
  WORD.lastIndex = 0;
  for (let m = WORD.exec(text); m !== null; m = WORD.exec(text)) {
    const g = label(gold, m.index, m.index + m[0].length);
    const p = label(pred, m.index, m.index + m[0].length);
    if (ignore.has(g)) continue;
    if (g !== "O" && p === g) bump(g, "tp");
    else {
      if (g !== "O") bump(g, "fn");
      if (p !== "O") bump(p, "fp");
    }
    if (g !== "O" && p !== "O") bump("ANY", "tp");
    else if (g !== "O") bump("ANY", "fn");
    else if (p !== "O") bump("ANY", "fp");
  }
  return into;
}

/** Exact-span counts: a prediction is right only with the same type, start and end. */
export function spanCounts(gold: readonly Span[], pred: readonly Span[], into: Counts): Counts {
  const key = (s: Span) => `${s.type}:${s.start}:${s.end}`;
  const g = new Set(gold.map(key));
  const p = new Set(pred.map(key));
  for (const k of p)
    if (g.has(k)) into.tp++;
    else into.fp++;
  for (const k of g) if (!p.has(k)) into.fn++;
  return into;
}
