// Where a checked window's text (`after`) came from in the window (`before`): the output check
// replaces spans (redaction), removes sentences (grounding) or leaves text alone, so the two
// strings are runs of equal text with changes between them. Knowing the runs lets the stream
// cut a window anywhere the check left text alone and send the checked text up to that point.

/** Equal text shorter than this between two changes is treated as part of the change. */
const ANCHOR = 4;

export interface Segment {
  equal: boolean;
  /** [a0, a1) in `before`, [b0, b1) in `after`. */
  a0: number;
  a1: number;
  b0: number;
  b1: number;
}

/** Edit distance beyond which the middle of a window counts as one change (bounds time and memory). */
const MAX_EDITS = 512;

/**
 * Splits `before` → `after` into equal runs and changes, left to right: the common prefix and
 * suffix, and between them a shortest edit script (Myers' O((n+m)·D) diff), so text that the
 * check replaced and that also occurs elsewhere in the window is not matched to the wrong place.
 */
export function align(before: string, after: string): Segment[] {
  let pre = 0;
  const min = Math.min(before.length, after.length);
  while (pre < min && before[pre] === after[pre]) pre++;
  let suf = 0;
  while (suf < min - pre && before[before.length - 1 - suf] === after[after.length - 1 - suf])
    suf++;
  const a = before.slice(pre, before.length - suf);
  const b = after.slice(pre, after.length - suf);
  const runs: Run[] = [];
  if (pre > 0) runs.push({ a: 0, b: 0, len: pre });
  for (const r of diffRuns(a, b) ?? []) runs.push({ a: r.a + pre, b: r.b + pre, len: r.len });
  if (suf > 0) runs.push({ a: before.length - suf, b: after.length - suf, len: suf });
  const segs: Segment[] = [];
  let i = 0;
  let j = 0;
  for (const r of runs) {
    if (r.len === 0) continue;
    if (r.a > i || r.b > j) segs.push({ equal: false, a0: i, a1: r.a, b0: j, b1: r.b });
    segs.push({ equal: true, a0: r.a, a1: r.a + r.len, b0: r.b, b1: r.b + r.len });
    i = r.a + r.len;
    j = r.b + r.len;
  }
  if (i < before.length || j < after.length)
    segs.push({ equal: false, a0: i, a1: before.length, b0: j, b1: after.length });
  return mergeShortRuns(segs, before.length);
}

interface Run {
  a: number;
  b: number;
  len: number;
}

/** Equal runs of a shortest edit script from `a` to `b`, in order; undefined past MAX_EDITS. */
function diffRuns(a: string, b: string): Run[] | undefined {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return [];
  const maxD = Math.min(MAX_EDITS, n + m);
  const offset = maxD + 1;
  const v = new Int32Array(2 * maxD + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= maxD; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!);
      let x = down ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a.charCodeAt(x) === b.charCodeAt(y)) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, n, m);
    }
  }
  return undefined;
}

/** Walks the saved frontiers back from (n, m), collecting the diagonal runs. */
function backtrack(trace: Int32Array[], n: number, m: number): Run[] {
  const runs: Run[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    // trace[d] holds k ∈ [-d-1, d+1] at index k + d + 1.
    const at = (k: number) => trace[d]![k + d + 1]!;
    const k = x - y;
    let midX = 0;
    let prevX = 0;
    let prevY = 0;
    if (d > 0) {
      const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
      const prevK = down ? k + 1 : k - 1;
      prevX = at(prevK);
      prevY = prevX - prevK;
      midX = down ? prevX : prevX + 1;
    }
    if (x > midX) runs.push({ a: midX, b: midX - k, len: x - midX });
    x = prevX;
    y = prevY;
  }
  return runs.reverse();
}

/** Folds an equal run shorter than ANCHOR that lies between changes into one change. */
function mergeShortRuns(segs: Segment[], aLength: number): Segment[] {
  const out: Segment[] = [];
  for (const s of segs) {
    const prev = out.at(-1);
    const short = s.equal && s.a1 - s.a0 < ANCHOR && s.a1 < aLength;
    if (prev && !prev.equal && (short || !s.equal)) {
      prev.a1 = s.a1;
      prev.b1 = s.b1;
      continue;
    }
    out.push({ ...s });
  }
  return out;
}

/**
 * Where to cut `before` at or near `c` so that the text before the cut maps onto `after`:
 * `c` itself when it falls in (or at the edge of) an equal run; else the start of the change
 * around it, or its end when the change starts the window and ends before the window does.
 * Undefined when no cut after position 0 is possible.
 */
export function mapCut(segs: readonly Segment[], c: number, length: number) {
  for (const s of segs) {
    if (s.equal && s.a0 <= c && c <= s.a1) return { a: c, b: s.b0 + (c - s.a0) };
    if (!s.equal && s.a0 < c && c < s.a1) {
      if (s.a0 > 0) return { a: s.a0, b: s.b0 };
      if (s.a1 < length) return { a: s.a1, b: s.b1 };
      return undefined;
    }
  }
  return undefined;
}
