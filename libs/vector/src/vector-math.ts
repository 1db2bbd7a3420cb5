/** Returns an L2-normalised copy; callers normalise already, but a stray raw vector must not skew cosine. */
export function normalized(v: Float32Array): Float32Array {
  const out = new Float32Array(v.length);
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
  norm = Math.sqrt(norm);
  if (norm === 0) return out;
  const inv = 1 / norm;
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
  return out;
}

/** Deterministic 32-bit PRNG (mulberry32) so graphs and tests are reproducible. */
export function mulberry32(seed: number): { next(): number; state(): number } {
  let a = seed >>> 0;
  return {
    next(): number {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
    state(): number {
      return a;
    },
  };
}
