import { Code } from "@connectrpc/connect";
import cliProgress from "cli-progress";
import type { Clients } from "./clients.js";
import { ServiceCallError } from "./errors.js";
import type { PublishedDocument } from "./ingest.js";

export interface WaitOptions {
  tenant: string;
  documents: PublishedDocument[];
  /** When publishing began: a document stored after it is at least as new as ours. */
  startedAt: Date;
  timeoutMs: number;
  progress: boolean;
}

export interface WaitResult {
  searchable: number;
  /** Documents not searchable when time ran out, and where they were. */
  pending: { source: string; id: string; stage: "ingestion" | "index" }[];
  elapsedMs: number;
  modelVersion: string;
}

interface Tracked {
  doc: PublishedDocument;
  /** Chunk ids of the stored version, once the ingestion service has it. */
  chunkIds?: string[];
}

const CONCURRENCY = 16;
const CHECK_BATCH = 1000;

/**
 * Waits until every document is searchable at the version this run published: the ingestion
 * service stores it (its `version` is ours, or it changed after we started), then the index
 * holds every one of that version's chunks (chunk ids name a revision, so old chunks never count).
 */
export async function waitSearchable(clients: Clients, o: WaitOptions): Promise<WaitResult> {
  const started = Date.now();
  let pending: Tracked[] = o.documents.map((doc) => ({ doc }));
  let modelVersion = "";
  const bar =
    o.progress && pending.length > 0
      ? new cliProgress.SingleBar(
          { format: "searchable [{bar}] {value}/{total} docs  {duration_formatted}" },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(o.documents.length, 0);
  let interval = 200;
  try {
    while (pending.length > 0) {
      await mapLimit(
        pending.filter((t) => !t.chunkIds),
        CONCURRENCY,
        (t) => stored(clients, o, t),
      );
      const indexing = pending.filter((t) => t.chunkIds && t.chunkIds.length > 0);
      const missing = new Set<string>();
      const ids = indexing.flatMap((t) => t.chunkIds ?? []);
      for (let i = 0; i < ids.length; i += CHECK_BATCH) {
        const r = await clients.retrieval.checkChunks({
          tenant: o.tenant,
          chunkIds: ids.slice(i, i + CHECK_BATCH),
        });
        for (const id of r.missingChunkIds) missing.add(id);
        modelVersion = r.modelVersion;
      }
      pending = pending.filter((t) => !t.chunkIds || t.chunkIds.some((id) => missing.has(id)));
      bar?.update(o.documents.length - pending.length);
      if (pending.length === 0 || Date.now() - started >= o.timeoutMs) break;
      await new Promise((r) => setTimeout(r, interval));
      interval = Math.min(1000, interval * 1.5);
    }
  } finally {
    bar?.stop();
  }
  return {
    searchable: o.documents.length - pending.length,
    pending: pending.map((t) => ({
      source: t.doc.source,
      id: t.doc.id,
      stage: t.chunkIds ? "index" : "ingestion",
    })),
    elapsedMs: Date.now() - started,
    modelVersion,
  };
}

/** Looks the document up; once it is at our version (or newer) records its chunk ids. */
async function stored(clients: Clients, o: WaitOptions, t: Tracked): Promise<void> {
  const req = { tenant: o.tenant, source: t.doc.source, id: t.doc.id };
  try {
    const head = await clients.ingestion.getDocument(req);
    if (!current(head.document, t.doc, o.startedAt)) return;
    if (head.document?.chunkCount === 0) {
      t.chunkIds = [];
      return;
    }
    const full = await clients.ingestion.getDocument({ ...req, includeChunks: true });
    if (current(full.document, t.doc, o.startedAt)) t.chunkIds = full.chunks.map((c) => c.chunkId);
  } catch (err) {
    // Not stored yet: the data event is still on its way through the ingestion service.
    if (err instanceof ServiceCallError && err.cause.code === Code.NotFound) return;
    throw err;
  }
}

function current(
  d: { version: string; updatedAt: string } | undefined,
  doc: PublishedDocument,
  startedAt: Date,
): boolean {
  if (!d) return false;
  if (d.version === doc.version) return true;
  const updated = Date.parse(d.updatedAt);
  return Number.isFinite(updated) && updated >= startedAt.getTime();
}

async function mapLimit<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
