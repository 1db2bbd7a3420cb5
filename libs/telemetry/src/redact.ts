import { stdSerializers } from "pino";

// scheme://userinfo@ up to the last '@' of the token: a malformed password may hold '@' or '/', so an
// '@' in a path is over-redacted rather than a password kept.
const URL_USERINFO = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>]*)@/gi;

/**
 * Replaces the password (and any userinfo after the user name) of every URL in `s` with
 * `[redacted]`. Works on malformed URLs too, which is where it matters: a URL that failed to
 * parse is exactly the one that ends up in an error message.
 */
export function redactUrl(s: string): string {
  if (!s.includes("://")) return s;
  return s.replace(URL_USERINFO, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(":");
    return colon < 0 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:[redacted]@`;
  });
}

/**
 * The reason a JSON parse failed, without the snippet of input that V8 quotes
 * (`Unexpected token 'S', "SSN 078-05"... is not valid JSON`): safe to log and to dead-letter.
 */
export function safeJsonError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const at = /at position (\d+)/.exec(msg);
  if (at) return `invalid JSON at position ${at[1]}`;
  if (/Unexpected end of JSON input/.test(msg)) return "invalid JSON (unexpected end of input)";
  return "invalid JSON";
}

// Error messages that quote the input they refused: [marker, pattern, replacement]. Each keeps
// its fixed words and drops the value; the marker keeps the patterns off text they cannot match.
const QUOTING: [string, RegExp, string][] = [
  // V8's JSON.parse: `Unexpected token 'x', "<snippet>"... is not valid JSON`, `"<snippet>" is not valid JSON`.
  [
    " is not valid JSON",
    /(?:Unexpected token '[\s\S]{1,2}?', )?"[\s\S]*?"(?:\.\.\.)? is not valid JSON/g,
    "invalid JSON",
  ],
  // PostgreSQL data exceptions (SQLSTATE class 22) that quote the rejected value.
  ["invalid input syntax", /(invalid input syntax for type [^:\n]+): "[^\n]*"/g, "$1"],
  ["invalid input value", /(invalid input value for enum [^:\n]+): "[^\n]*"/g, "$1"],
  ["malformed", /(malformed [a-z ]+ literal): "[^\n]*"/g, "$1"],
  ["is out of range", /value "[^\n]*" is out of range for type/g, "value is out of range for type"],
];

/**
 * Makes an error message or reason safe to log: credentials in URLs are redacted and the input
 * quoted by JSON.parse or by PostgreSQL data errors is dropped.
 */
export function scrubText(s: string): string {
  let out = redactUrl(s);
  for (const [marker, re, to] of QUOTING) if (out.includes(marker)) out = out.replace(re, to);
  return out;
}

// Fields of an error that say what went wrong without echoing data. Everything else is dropped:
// PostgreSQL's `detail`, `where`, `internalQuery`, `hint`, drivers' `parameters`, URL errors'
// `input`, Connect's `rawMessage` and `metadata`, and whatever a library adds next.
const KEEP = new Set([
  "type",
  "message",
  "stack",
  "name",
  "code",
  "errno",
  "syscall",
  "hostname",
  "address",
  "port",
  "severity",
  "constraint",
  "table",
  "column",
  "schema",
  "dataType",
  "routine",
  "status",
  "statusCode",
]);

/** pino's error serializer, less every field that may echo data (see KEEP), with messages scrubbed. */
export function serializeError(err: unknown): unknown {
  if (typeof err === "string") return scrubText(err);
  if (!err || typeof err !== "object" || typeof (err as Error).message !== "string") return err;
  const s = stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (!KEEP.has(k) || v === undefined) continue;
    out[k] = typeof v === "string" ? scrubText(v) : v;
  }
  const inner = (err as { errors?: unknown }).errors;
  if (Array.isArray(inner)) out["aggregateErrors"] = inner.map(serializeError);
  return out;
}

/** For fields such as `reason` that hold an error or its message. */
export function serializeReason(v: unknown): unknown {
  return typeof v === "string" ? scrubText(v) : serializeError(v);
}

/** For fields that hold a URL. */
export function serializeUrl(v: unknown): unknown {
  return typeof v === "string" ? redactUrl(v) : v;
}
