import { printable } from "./args.js";

/** Exit codes scripts can rely on (documented in `tailor --help`). */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** Commander's `error: unknown command 'serch'\n(Did you mean search?)` → one `tailor: …` line. */
export function formatUsageError(str: string, command: string): string {
  const lines = str.trim().split("\n");
  const first = (lines[0] ?? "").replace(/^error: /, "");
  const rest = lines
    .slice(1)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.replace(/^\(Did you mean (.*)\?\)$/, "did you mean $1?"));
  const text = [first, ...rest].join(" — ");
  return `tailor: ${printable(text, 2000)} (see: ${command} --help)\n`;
}
