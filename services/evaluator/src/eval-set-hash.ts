import { createHash } from "node:crypto";
import type { EvalSet } from "@tailor/eval";

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * SHA-256 over the queries (id, text, answer) and their judgments, independent of file order,
 * so the same content always has the same hash and a run names exactly what it scored.
 */
export function evalSetHash(set: EvalSet): string {
  const h = createHash("sha256");
  for (const q of [...set.queries].sort((a, b) => byCodeUnit(a.id, b.id))) {
    const judged = [...(set.qrels.get(q.id) ?? new Map<string, number>())].sort((a, b) =>
      byCodeUnit(a[0], b[0]),
    );
    h.update(JSON.stringify([q.id, q.text, q.answer ?? null, judged]));
    h.update("\n");
  }
  return h.digest("hex");
}
