import { InvalidArgumentError } from "commander";

/** Tenant and source names: the rule of `isValidToken` in libs/bus (they become NATS subject tokens). */
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/** `--tenant`/`--source`: refused on the command line, before anything is sent. */
export function token(value: string): string {
  if (!TOKEN.test(value))
    throw new InvalidArgumentError("Use 1 to 128 letters, digits, '_' or '-' (no spaces)");
  return value;
}

/** An integer option within bounds. */
export function intIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}`);
    return n;
  };
}

/** Seconds (fractions allowed) → milliseconds. */
export function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0) || n > 86_400)
    throw new InvalidArgumentError("Expected a number of seconds above 0 (at most 86400)");
  return Math.round(n * 1000);
}

/** `--meta key=value`, repeatable. */
export function keyValue(value: string, prev: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError("Expected key=value");
  return { ...prev, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** `--source`, repeatable. */
export function tokens(value: string, prev: string[] = []): string[] {
  return [...prev, token(value)];
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Values echoed in messages may come from anywhere: keep control characters off the terminal. */
export function printable(s: string, max = 300): string {
  const t = s.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** `1 document`, `2 documents`. */
export function count(n: number | bigint, noun: string): string {
  return `${n} ${noun}${n === 1 || n === 1n ? "" : "s"}`;
}
