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

/** Registry versions are `<model>@v<n>` (`retrieval@v3`), named by the registry. */
const VERSION = /^[A-Za-z0-9_-]{1,128}@v[1-9]\d{0,8}$/;

/** `--version`/`--base`: a registry version, refused before anything is sent. */
export function registryVersion(value: string): string {
  if (!VERSION.test(value))
    throw new InvalidArgumentError("Expected a registry version such as retrieval@v2");
  return value;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Eval set names: what a file name may hold, nothing a terminal or a path could misread. */
export function setName(value: string): string {
  if (!NAME.test(value))
    throw new InvalidArgumentError(
      "Use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  return value;
}

/** `--weight`: a canary's share of traffic, in (0, 1]. */
export function weight(value: string): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || !(n > 0) || n > 1)
    throw new InvalidArgumentError("Expected a share of traffic above 0 and at most 1 (e.g. 0.1)");
  return n;
}

/** `--seed`: an unsigned 64-bit integer, the proto's type. */
export function seed(value: string): bigint {
  if (!/^\d{1,20}$/.test(value) || BigInt(value) >= 2n ** 64n)
    throw new InvalidArgumentError("Expected a whole number from 0 to 18446744073709551615");
  return BigInt(value);
}

/** Job ids as the trainer names them; only bounded and printable here, the trainer judges. */
export function jobId(value: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(value))
    throw new InvalidArgumentError("Expected a job id (letters, digits, '.', ':', '_' or '-')");
  return value;
}

/** A TREC run tag: one whitespace-free field of every run line. */
export function runTag(value: string): string {
  if (!/^[\x21-\x7e]{1,128}$/.test(value))
    throw new InvalidArgumentError("Use 1 to 128 printable characters without spaces");
  return value;
}

/** `--reason`: kept with the alias history; bounded and without control characters. */
export function reason(value: string): string {
  if (value.length > 1000 || new RegExp(CONTROL.source).test(value))
    throw new InvalidArgumentError("Use at most 1000 characters, no control characters");
  return value;
}
