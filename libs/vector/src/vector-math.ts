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
