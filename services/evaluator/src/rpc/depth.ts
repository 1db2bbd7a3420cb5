import { invalidArgument } from "@tailor/service";

/** Retrieval answers at most 1000 hits. */
const MAX_DEPTH = 1000;
export const DEFAULT_DEPTH = 100;

export function checkDepth(depth: number): number {
  if (depth === 0) return DEFAULT_DEPTH;
  if (depth > MAX_DEPTH) throw invalidArgument("depth", `must be between 1 and ${MAX_DEPTH}`);
  return depth;
}
