const COLORS = [36, 35, 33, 32, 34, 91, 96, 95];
const assigned = new Map<string, number>();
const tty = process.stdout.isTTY;

function color(name: string): string {
  if (!tty) return `[${name}]`;
  let c = assigned.get(name);
  if (c === undefined) {
    c = COLORS[assigned.size % COLORS.length]!;
    assigned.set(name, c);
  }
  return `\u001b[${c}m[${name}]\u001b[0m`;
}

/** Prints one launcher line with a coloured prefix. */
export function say(who: string, line: string): void {
  process.stdout.write(`${color(who.padEnd(12))} ${line}\n`);
}

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
const SKIP = new Set(["level", "time", "pid", "hostname", "name", "svc", "msg"]);

/** Turns a pino JSON line into `time LEVEL msg key=value…`; other lines pass through. */
export function prettyLogLine(line: string): string {
  if (!line.startsWith("{")) return line;
  try {
    const j = JSON.parse(line) as Record<string, unknown>;
    const time = typeof j["time"] === "string" ? (j["time"] as string).slice(11, 23) : "";
    const level = LEVELS[j["level"] as number] ?? String(j["level"]);
    const extras = Object.entries(j)
      .filter(([k]) => !SKIP.has(k))
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    return `${time} ${level.padEnd(5)} ${String(j["msg"] ?? "")}${extras ? `  ${extras}` : ""}`;
  } catch {
    return line;
  }
}
