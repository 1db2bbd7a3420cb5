import { createHash } from "node:crypto";
import type { EvalSet } from "./eval-set.js";

/**
 * How queries are assigned to train and held-out:
 * - `hash`: sha256 of `seed`, NUL, qid; the first 32 bits over 2^32 below `heldOutFraction`
 *   means held out. Stable across runs, machines and set order; adding queries never moves old ones.
 * - `parity`: integer qids, odd → train, even → held out (the CISI convention of the lessons note).
 */
export type SplitSpec =
  | { method: "hash"; seed: string | number; heldOutFraction: number }
  | { method: "parity" };

export interface SplitEvalSet {
  train: EvalSet;
  heldOut: EvalSet;
}

/** Where one query id goes under a split spec. */
export function splitSide(qid: string, spec: SplitSpec): "train" | "heldOut" {
  switch (spec.method) {
    case "parity": {
      if (!/^\d{1,15}$/.test(qid)) {
        throw new RangeError(
          `parity split needs integer query ids; one is not (length ${qid.length})`,
        );
      }
      return Number(qid) % 2 === 1 ? "train" : "heldOut";
    }
    case "hash": {
      const digest = createHash("sha256").update(`${spec.seed}\u0000${qid}`).digest();
      return digest.readUInt32BE(0) / 2 ** 32 < spec.heldOutFraction ? "heldOut" : "train";
    }
    default: {
      const never: never = spec;
      throw new Error(`unknown split ${JSON.stringify(never)}`);
    }
  }
}

/** Splits queries and their judgments deterministically; each query lands on exactly one side. */
export function splitEvalSet(set: EvalSet, spec: SplitSpec): SplitEvalSet {
  if (spec.method === "hash" && !(spec.heldOutFraction >= 0 && spec.heldOutFraction <= 1)) {
    throw new RangeError(`heldOutFraction must be in [0, 1], got ${spec.heldOutFraction}`);
  }
  const out: SplitEvalSet = {
    train: { queries: [], qrels: new Map() },
    heldOut: { queries: [], qrels: new Map() },
  };
  for (const q of set.queries) {
    const side = out[splitSide(q.id, spec)];
    side.queries.push(q);
    const judged = set.qrels.get(q.id);
    if (judged) side.qrels.set(q.id, judged);
  }
  return out;
}
