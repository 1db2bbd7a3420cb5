/** A candidate as fusion sees it: fused `score`, and each side's own score (0 when absent). */
export interface FusionCandidate {
  id: string;
  score: number;
  denseScore: number;
  keywordScore: number;
}

/**
 * Fuses the keyword and dense candidate lists (each in rank order) into one list in fused order
 * (ties: smaller id first). Linear fusion of max-normalised keyword scores and min-max-normalised
 * cosines with a small dense weight is the default because weak averaged word vectors drag plain
 * rank fusion below keyword search alone (see shared/notes/retrieval-lessons.md).
 */
export function fuse<T extends FusionCandidate>(
  kw: readonly T[],
  dn: readonly T[],
  o: { fusion: "linear" | "rrf"; denseWeight: number },
): T[] {
  const merged = new Map<string, T>();
  if (o.fusion === "rrf") {
    const add = (list: readonly T[], side: "dense" | "keyword") =>
      list.forEach((h, rank) => {
        const m = merged.get(h.id) ?? { ...h, score: 0, denseScore: 0, keywordScore: 0 };
        m.score += 1 / (60 + rank + 1);
        if (side === "dense") m.denseScore = h.denseScore;
        else m.keywordScore = h.keywordScore;
        merged.set(h.id, m);
      });
    add(kw, "keyword");
    add(dn, "dense");
  } else {
    const w = o.denseWeight;
    const kwMax = kw[0]?.keywordScore || 1;
    const dnMax = dn[0]?.denseScore || 1;
    const dnMin = dn.length > 0 ? Math.min(...dn.map((h) => h.denseScore)) : 0;
    const dnRange = dnMax - dnMin || 1;
    for (const h of kw) merged.set(h.id, { ...h, score: (1 - w) * (h.keywordScore / kwMax) });
    for (const h of dn) {
      const part = w * ((h.denseScore - dnMin) / dnRange);
      const m = merged.get(h.id);
      if (m) {
        m.score += part;
        m.denseScore = h.denseScore;
      } else merged.set(h.id, { ...h, score: part });
    }
  }
  return [...merged.values()].sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
}
