import { Bus, type BusAuth, type DataDocument, publishDataEvent } from "@tailor/bus";
import cliProgress from "cli-progress";
import { documentVersion } from "./document-version.js";
import { listDirDocuments, readDirDocument, readJsonl } from "./documents.js";
import { BusConnectError, UsageError } from "./errors.js";

export interface IngestOptions {
  natsUrl: string;
  natsAuth?: BusAuth;
  busPrefix: string;
  tenant: string;
  source: string;
  format: "protobuf" | "cloudevents";
  jsonl?: string;
  dir?: string;
  progress: boolean;
  /** A bad line or a failed publish: `stop` (default) reads no further, `skip` goes on. */
  onError?: "stop" | "skip";
  /** Fail when NATS does not answer at once instead of waiting for it to start (the CLI). */
  failFast?: boolean;
  connectTimeoutMs?: number;
}

/** A document the broker acknowledged, and the version the ingestion service will give it. */
export interface PublishedDocument {
  source: string;
  id: string;
  version: string;
  /** Stream sequence of its data event: of two events for one id, the later one wins. */
  seq: number;
}

export interface IngestSummary {
  published: number;
  /** Dropped by the broker as already seen inside its duplicate window. */
  duplicates: number;
  /** Bodies too large for one message, sent by claim check. */
  claimed: number;
  /** Input that is not a document (bad JSONL lines, unreadable files). */
  skipped: { line?: number; id?: string; problem: string }[];
  /** Documents the broker did not accept. */
  failed: { line?: number; id: string; problem: string }[];
  /** Set when `onError: "stop"` ended the run early: the first problem. */
  stoppedAt?: { line?: number; id?: string; problem: string };
  /** The latest published event per document id. */
  documents: PublishedDocument[];
  /** When publishing began (documents changed by this run are updated after it). */
  startedAt: Date;
}

type Item = { line?: number; doc: DataDocument } | { line?: number; id?: string; problem: string };

/** Publishes documents as data events, a window of them in flight at once. */
export async function ingest(o: IngestOptions): Promise<IngestSummary> {
  if (!o.dir === !o.jsonl) throw new UsageError("give exactly one of --jsonl FILE or --dir PATH");
  const onError = o.onError ?? "stop";
  let bus: Bus;
  try {
    bus = await Bus.connect({
      url: o.natsUrl,
      auth: o.natsAuth,
      name: "tailor-cli",
      prefix: o.busPrefix,
      failFast: o.failFast,
      connectTimeoutMs: o.connectTimeoutMs,
    });
  } catch (err) {
    throw new BusConnectError(o.natsUrl, err);
  }
  const bar = o.progress
    ? new cliProgress.SingleBar(
        { format: "ingest [{bar}] {value}/{total} docs  {rate}/s  {eta_formatted} left" },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const s: IngestSummary = {
    published: 0,
    duplicates: 0,
    claimed: 0,
    skipped: [],
    failed: [],
    documents: [],
    startedAt: new Date(),
  };
  const latest = new Map<string, PublishedDocument>();
  try {
    const { items, total } = await openInput(o);
    bar?.start(total || 1, 0, { rate: "0" });
    const window = new Set<Promise<void>>();
    for await (const item of items) {
      if (s.stoppedAt) break;
      if ("problem" in item) {
        s.skipped.push(item);
        if (onError === "stop") s.stoppedAt = item;
        continue;
      }
      if (window.size >= 256) await Promise.race(window);
      if (s.stoppedAt) break;
      const { doc, line } = item;
      const p = publishDataEvent(bus, o.tenant, o.source, "upsert", doc, {
        format: o.format,
        source: `/cli/${o.source}`,
      })
        .then((r) => {
          s.published++;
          if (r.duplicate) s.duplicates++;
          if (r.claimed) s.claimed++;
          const prev = latest.get(doc.id);
          if (!prev || prev.seq < r.seq)
            latest.set(doc.id, {
              source: o.source,
              id: doc.id,
              version: documentVersion(doc),
              seq: r.seq,
            });
          if (bar) {
            if (!total) bar.setTotal(s.published);
            const secs = Math.max(0.001, (Date.now() - s.startedAt.getTime()) / 1000);
            bar.update(s.published, { rate: Math.round(s.published / secs) });
          }
        })
        .catch((err: unknown) => {
          const problem = `not published: ${(err as Error)?.message ?? String(err)}`;
          s.failed.push({ line, id: doc.id, problem });
          if (onError === "stop") s.stoppedAt ??= { line, id: doc.id, problem };
        })
        .finally(() => window.delete(p));
      window.add(p);
    }
    await Promise.all(window);
  } finally {
    bar?.stop();
    await bus.close();
  }
  s.documents = [...latest.values()];
  return s;
}

async function openInput(o: IngestOptions): Promise<{ items: AsyncIterable<Item>; total: number }> {
  if (o.dir) {
    const dir = o.dir;
    const files = await listDirDocuments(dir);
    return {
      total: files.length,
      items: (async function* () {
        for (const f of files) {
          try {
            yield { doc: await readDirDocument(dir, f) };
          } catch (err) {
            yield { id: f, problem: `${f}: ${(err as Error)?.message ?? String(err)}` };
          }
        }
      })(),
    };
  }
  return { total: 0, items: readJsonl(o.jsonl ?? "") };
}
