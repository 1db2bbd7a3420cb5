import { FieldError } from "@tailor/service";

/** Longest custom entity pattern, in UTF-16 units: room for a real entity, not for a program. */
export const MAX_PATTERN_LENGTH = 256;

/**
 * Refuses a tenant's regular expression that could not run safely over 1 MB of hostile text:
 * over-long, not compiling as a Unicode ECMAScript pattern, with backreferences or lookbehind
 * (the engine backtracks without bound on them), or with a quantified group that itself holds a
 * quantifier (`(a+)+`, the classic catastrophic backtracking shape).
 */
export function checkPattern(field: string, pattern: string): RegExp {
  if (pattern.length === 0) throw new FieldError(field, "is required");
  if (pattern.length > MAX_PATTERN_LENGTH)
    throw new FieldError(
      field,
      `is ${pattern.length} characters, over the limit of ${MAX_PATTERN_LENGTH}`,
    );
  let re: RegExp;
  try {
    re = new RegExp(pattern, "gu");
  } catch {
    throw new FieldError(field, "is not a valid ECMAScript regular expression (Unicode mode)");
  }
  // Groups still open, each remembering whether it holds a quantifier.
  const open: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") {
      const n = pattern[i + 1];
      if (!inClass && n !== undefined && /[1-9k]/.test(n))
        throw new FieldError(field, "holds a backreference, which is not allowed");
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "(") {
      if (pattern.startsWith("(?<=", i) || pattern.startsWith("(?<!", i))
        throw new FieldError(field, "holds a lookbehind, which is not allowed");
      open.push(false);
    } else if (c === ")") {
      const inner = open.pop() ?? false;
      const next = pattern[i + 1];
      const isQuantifier = next === "*" || next === "+" || next === "{";
      if (inner && isQuantifier)
        throw new FieldError(field, "nests quantifiers (e.g. (a+)+), which can run without bound");
      if (open.length > 0 && (inner || isQuantifier)) open[open.length - 1] = true;
    } else if ((c === "*" || c === "+" || c === "{") && open.length > 0) {
      open[open.length - 1] = true;
    }
  }
  if (re.test("")) throw new FieldError(field, "matches the empty string");
  return re;
}
