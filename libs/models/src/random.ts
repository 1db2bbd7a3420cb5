/** A seeded PRNG: each call returns the next float in [0, 1). */
export interface Mulberry32 {
  (): number;
  /** The internal state; `mulberry32(state())` continues the same sequence (for snapshots). */
  state(): number;
}

/**
 * mulberry32: a tiny seeded 32-bit PRNG returning floats in [0, 1). Token sampling, synthetic
 * test models, vector-index level draws and benchmarks all need randomness that a seed
 * reproduces, which Math.random cannot give. The one copy in the repository.
 */
export function mulberry32(seed: number): Mulberry32 {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Object.assign(next, { state: () => state });
}
