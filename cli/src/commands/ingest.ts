import { count } from "../args.js";
import { clientsFor } from "../clients.js";
import { parseCliConfig } from "../config.js";
import { EXIT, UsageError } from "../errors.js";
import { type IngestSummary, ingest } from "../ingest.js";
import type { Globals } from "../program.js";
import { waitSearchable } from "../wait.js";

interface IngestOpts {
  tenant: string;
  jsonl?: string;
  dir?: string;
  source: string;
  format: "protobuf" | "cloudevents";
  onError: "stop" | "skip";
  wait: boolean;
  waitTimeout: number;
  progress: boolean;
}

/** Listing every skipped line of a large file helps nobody; the count says the rest. */
const SHOW = 20;

export async function runIngest(o: IngestOpts, g: Globals): Promise<number> {
  if (!o.jsonl === !o.dir) throw new UsageError("give exactly one of --jsonl FILE or --dir PATH");
  const config = parseCliConfig(process.env);
  const tty = Boolean(process.stderr.isTTY) && o.progress;
  const s = await ingest({
    natsUrl: config.natsUrl,
    natsAuth: config.natsAuth,
    busPrefix: config.busPrefix,
    tenant: o.tenant,
    source: o.source,
    format: o.format,
    jsonl: o.jsonl,
    dir: o.dir,
    progress: tty,
    onError: o.onError,
    failFast: true,
    connectTimeoutMs: Math.min(g.timeoutMs, 5000),
  });
  const input = o.jsonl ?? o.dir ?? "";
  const [headline, ...problems] = summarise(s, o, input);
  console.log(headline);
  for (const line of problems) console.error(line);
  let code: number = s.skipped.length + s.failed.length > 0 ? EXIT.failed : EXIT.ok;
  if (!o.wait || s.documents.length === 0) return code;
  if (s.stoppedAt) {
    console.error("waiting only for the documents published before the stop");
  }
  const r = await waitSearchable(clientsFor(config, g.timeoutMs), {
    tenant: o.tenant,
    documents: s.documents,
    startedAt: s.startedAt,
    timeoutMs: o.waitTimeout,
    progress: tty,
  });
  const secs = (r.elapsedMs / 1000).toFixed(1);
  if (r.pending.length === 0) {
    console.log(
      `${count(r.searchable, "document")} searchable after ${secs} s${r.modelVersion ? ` (model ${r.modelVersion})` : ""}`,
    );
    return code;
  }
  const atIngestion = r.pending.filter((p) => p.stage === "ingestion");
  const atIndex = r.pending.filter((p) => p.stage === "index");
  const names = r.pending.slice(0, SHOW).map((p) => `${p.source}/${p.id}`);
  console.error(
    `tailor: ${r.pending.length} of ${s.documents.length} documents not searchable after ${secs} s ` +
      `(${atIngestion.length} not yet stored by ingestion, ${atIndex.length} not yet indexed by retrieval): ` +
      `${names.join(", ")}${r.pending.length > SHOW ? ", …" : ""} — ` +
      "are the services running (npm run up), or did ingestion reject them (see its log)? " +
      "Raise --wait-timeout for large inputs",
  );
  code = EXIT.failed;
  return code;
}

function summarise(s: IngestSummary, o: IngestOpts, input: string): string[] {
  const out: string[] = [];
  const extras = [
    s.duplicates ? `${s.duplicates} already seen by the broker` : "",
    s.claimed ? `${s.claimed} sent by claim check` : "",
  ].filter(Boolean);
  out.push(
    `published ${s.published} document${s.published === 1 ? "" : "s"} to tenant ${o.tenant}, source ${o.source}${extras.length ? ` (${extras.join(", ")})` : ""}`,
  );
  const where = (p: { line?: number; id?: string }) =>
    p.line !== undefined ? `${input}:${p.line}` : (p.id ?? input);
  if (s.skipped.length > 0) {
    out.push(`skipped ${s.skipped.length} bad input${s.skipped.length === 1 ? "" : "s"}:`);
    for (const p of s.skipped.slice(0, SHOW)) out.push(`  ${where(p)}: ${p.problem}`);
    if (s.skipped.length > SHOW) out.push(`  … and ${s.skipped.length - SHOW} more`);
  }
  if (s.failed.length > 0) {
    out.push(`failed to publish ${s.failed.length} document${s.failed.length === 1 ? "" : "s"}:`);
    for (const p of s.failed.slice(0, SHOW)) out.push(`  ${where(p)} (id ${p.id}): ${p.problem}`);
    if (s.failed.length > SHOW) out.push(`  … and ${s.failed.length - SHOW} more`);
  }
  if (s.stoppedAt) {
    out.push(
      `stopped at ${where(s.stoppedAt)} (--on-error stop): ${s.published} document${s.published === 1 ? " was" : "s were"} published before it, nothing after it was read. ` +
        "Fix it and run again (publishing again is harmless), or pass --on-error skip",
    );
  }
  return out;
}
