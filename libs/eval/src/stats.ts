import { mulberry32 } from "@tailor/models/random";

function sortedCopy(values: readonly number[], fn: string): number[] {
  if (values.length === 0) throw new RangeError(`${fn} of an empty array`);
  if (values.some((v) => Number.isNaN(v))) throw new RangeError(`${fn} of an array with NaN`);
  return [...values].sort((a, b) => a - b);
}

/**
 * Percentile by linear interpolation between closest ranks (numpy's default, R type 7):
 * position h = (n - 1) * p / 100, result = x[floor h] + (h - floor h) * (x[ceil h] - x[floor h]).
 * Chosen over nearest-rank because it is continuous in p and agrees with the median.
 * `p` is in [0, 100].
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile p must be in [0, 100], got ${p}`);
  const xs = sortedCopy(values, "percentile");
  const h = ((xs.length - 1) * p) / 100;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  const a = xs[lo]!;
  const b = xs[hi]!;
  return lo === hi ? a : a + (h - lo) * (b - a);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export interface PermutationTestOptions {
  /** Number of random sign assignments (default 10000). */
  rounds?: number;
  /** PRNG seed so the p-value is reproducible (default 0). */
  seed?: number;
}

/**
 * Two-sided paired randomisation test on the mean difference (Fisher; as used for IR by Smucker,
 * Allan & Carterette 2007). Under H0 each pair's label is exchangeable, so each difference's sign
 * is flipped at random. Returns (count + 1) / (rounds + 1), counting rounds whose |sum| is at
 * least the observed one: the +1 includes the observed assignment, so p is never 0 and remains a
 * valid p-value for a finite number of rounds.
 */
export function pairedPermutationTest(
  a: readonly number[],
  b: readonly number[],
  opts: PermutationTestOptions = {},
): number {
  if (a.length !== b.length) {
    throw new RangeError(`paired arrays differ in length: ${a.length} vs ${b.length}`);
  }
  const rounds = opts.rounds ?? 10_000;
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be >= 1`);
  const rand = mulberry32(opts.seed ?? 0);
  const diffs = a.map((x, i) => x - b[i]!);
  if (diffs.some((d) => Number.isNaN(d))) throw new RangeError("paired arrays contain NaN");
  // Sums instead of means: same ordering (n is fixed) with less rounding.
  const observed = Math.abs(diffs.reduce((s, d) => s + d, 0));
  // Tolerance so permutations equal to the observed sum up to float noise still count.
  const eps = 1e-9 * diffs.reduce((s, d) => s + Math.abs(d), 0);
  let atLeast = 0;
  for (let r = 0; r < rounds; r++) {
    let sum = 0;
    for (const d of diffs) sum += rand() < 0.5 ? -d : d;
    if (Math.abs(sum) >= observed - eps) atLeast++;
  }
  return (atLeast + 1) / (rounds + 1);
}
