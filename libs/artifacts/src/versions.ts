/** A model name or version: one safe path segment (it names a folder and an object prefix). */
export const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Throws RangeError unless `s` is a safe single path segment (a name or a version). */
export function checkSegment(what: string, s: string): void {
  if (!SEGMENT.test(s)) throw new RangeError(`${what} ${JSON.stringify(s)} is not [A-Za-z0-9._-]+`);
}

/**
 * Orders versions "semver-ish": split into digit and non-digit runs, digit runs compare as
 * numbers, the rest as strings, so 1.10.0 > 1.9.2 and 2024-06-01 > 2024-05-31. Chosen over the
 * manifest's created_at because it is visible in the name, needs no download to compare, and
 * does not depend on the publisher's clock. Ties (e.g. "1.0" vs "1.0.0") fall back to plain
 * string order so the result is total.
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
    } else if (x !== y) {
      // A number sorts after text at the same position: 1.0.1 > 1.0-rc1.
      if (nx !== ny) return nx ? 1 : -1;
      return x < y ? -1 : 1;
    }
  }
  if (pa.length !== pb.length) return pa.length - pb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The largest of `versions` by {@link compareVersions}; undefined when empty. */
export function newestVersion(versions: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const v of versions) if (best === undefined || compareVersions(v, best) > 0) best = v;
  return best;
}
