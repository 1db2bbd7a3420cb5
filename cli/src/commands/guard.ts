import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Action, type ScanResult } from "@tailor/proto";
import { loneSurrogateAt, utf8Bytes } from "@tailor/service";
import { type Clients, clientsFor } from "../clients.js";
import { parseCliConfig } from "../config.js";
import { CliError, EXIT } from "../errors.js";
import type { Globals } from "../program.js";

interface ScanOpts {
  jsonl: string;
  tenant?: string;
  asContent?: boolean;
}

/** Items per Scan call (the service takes up to 1000). */
export const SCAN_BATCH = 500;
/** Bytes of text per Scan call: the service reads at most 16 MiB a request. */
const BATCH_BYTES = 8 * 1024 * 1024;
/** The service's limit on one text. */
const MAX_TEXT_BYTES = 1024 * 1024;
/** A line longer than this cannot hold a valid item; it is skipped, not buffered. */
const MAX_LINE_BYTES = 4 * MAX_TEXT_BYTES;

const ACTION_NAMES: Record<Action, string> = {
  [Action.UNSPECIFIED]: "allow",
  [Action.ALLOW]: "allow",
  [Action.REDACT]: "redact",
  [Action.BLOCK]: "block",
  [Action.FLAG]: "flag",
};

/** One input line: a valid item to scan, or the reason it is not one. */
type Entry =
  | { line: number; id: string; text: string }
  | { line: number; id: string | null; error: string };

/**
 * `tailor guard scan`: reads {"id","text"} lines as a stream, scans them in batches and prints
 * one JSON line per input line, in input order. Bad lines get an error line and a failing exit
 * code at the end; they never stop the lines after them.
 */
export async function runGuardScan(
  o: ScanOpts,
  g: Globals,
  clients?: Pick<Clients, "guard">,
): Promise<number> {
  const info = await stat(o.jsonl).catch(() => {
    throw new CliError(`--jsonl ${o.jsonl}: no such file or not readable`);
  });
  if (info.isDirectory()) throw new CliError(`--jsonl ${o.jsonl}: is a folder, expected a file`);
  const guard = (clients ?? clientsFor(parseCliConfig(process.env), g.timeoutMs)).guard;
  const tenant = o.tenant ?? "default";
  let failed = 0;
  let pending: Entry[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    const batch = pending;
    pending = [];
    pendingBytes = 0;
    const items = batch.flatMap((e) => ("text" in e ? [{ id: e.id, text: e.text }] : []));
    const results =
      items.length > 0
        ? (await guard.scan({ tenant, items, asContent: Boolean(o.asContent) })).results
        : [];
    let r = 0;
    for (const e of batch) {
      const out =
        "text" in e ? toLine(e, results[r++]) : { id: e.id, error: `line ${e.line}: ${e.error}` };
      if ("error" in out) failed++;
      console.log(JSON.stringify(out));
    }
  };
  for await (const { line, bytes } of lines(o.jsonl)) {
    const e = parseLine(line, bytes);
    pending.push(e);
    if ("text" in e) pendingBytes += bytes.length;
    if (pending.length >= SCAN_BATCH || pendingBytes >= BATCH_BYTES) await flush();
  }
  if (pending.length > 0) await flush();
  if (failed > 0) process.stderr.write(`tailor: ${failed} line(s) could not be scanned\n`);
  return failed > 0 ? EXIT.failed : EXIT.ok;
}

function toLine(e: { line: number; id: string }, r: ScanResult | undefined) {
  if (!r || r.error || !r.verdict) {
    // The service names the batch position (`items[3].text`); the user knows the line.
    const why = (r?.error || "no verdict returned").replace(/^items\[\d+\]\./, "");
    return { id: e.id, error: `line ${e.line}: ${why}` };
  }
  const v = r.verdict;
  return {
    id: e.id,
    pii: v.pii.map((f) => ({ type: f.type, start: f.start, end: f.end, score: f.score })),
    injection: { score: v.injection?.score ?? 0, detected: v.injection?.detected ?? false },
    action: ACTION_NAMES[v.action] ?? "allow",
  };
}

/** A line as an item, or why it is not one (a blank line too: every line gets its answer). */
function parseLine(n: { line: number; overLong: boolean }, bytes: Buffer): Entry {
  const fail = (error: string, id: string | null = null): Entry => ({ line: n.line, id, error });
  if (n.overLong) return fail(`over the limit of ${MAX_LINE_BYTES} bytes a line`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail("not valid UTF-8");
  }
  if (text.trim() === "") return fail("empty line");
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return fail("not valid JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return fail('expected a JSON object {"id","text"}');
  const rec = v as Record<string, unknown>;
  const id = typeof rec["id"] === "string" ? rec["id"] : null;
  if (id === null) return fail("id: expected a string");
  if (typeof rec["text"] !== "string") return fail("text: expected a string", id);
  const t = rec["text"];
  if (utf8Bytes(t) > MAX_TEXT_BYTES)
    return fail(`text: is over the limit of ${MAX_TEXT_BYTES} bytes`, id);
  const lone = loneSurrogateAt(t);
  if (lone >= 0) return fail(`text: holds an unpaired UTF-16 surrogate at offset ${lone}`, id);
  return { line: n.line, id, text: t };
}

/**
 * The file's lines as bytes, read as a stream: memory holds one line at most, and a line over
 * MAX_LINE_BYTES is dropped while it is read (reported, not buffered).
 */
async function* lines(path: string) {
  let parts: Buffer[] = [];
  let size = 0;
  let overLong = false;
  let line = 0;
  const take = () => {
    const bytes = overLong ? Buffer.alloc(0) : Buffer.concat(parts);
    const r = { line: { line: ++line, overLong }, bytes };
    parts = [];
    size = 0;
    overLong = false;
    return r;
  };
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl !== -1; nl = chunk.indexOf(10, from)) {
      add(chunk.subarray(from, nl));
      yield take();
      from = nl + 1;
    }
    add(chunk.subarray(from));
  }
  if (size > 0 || overLong) yield take();

  function add(b: Buffer) {
    if (overLong || b.length === 0) return;
    size += b.length;
    if (size > MAX_LINE_BYTES) {
      overLong = true;
      parts = [];
      return;
    }
    parts.push(b);
  }
}
