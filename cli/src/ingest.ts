import { Bus, type DataDocument, publishDataEvent } from "@tailor/bus";
import cliProgress from "cli-progress";
import { listDirDocuments, readDirDocument, readJsonl } from "./documents.js";

export interface IngestOptions {
  natsUrl: string;
  busPrefix: string;
  tenant: string;
  source: string;
  format: "protobuf" | "cloudevents";
  jsonl?: string;
  dir?: string;
  progress: boolean;
}

/** Publishes documents as data events, a window of them in flight at once. */
export async function ingest(
  o: IngestOptions,
): Promise<{ published: number; duplicates: number; claimed: number }> {
  const bus = await Bus.connect({ url: o.natsUrl, name: "tailor-cli", prefix: o.busPrefix });
  const bar = o.progress
    ? new cliProgress.SingleBar(
        { format: "ingest [{bar}] {value}/{total} docs  {rate}/s  {eta_formatted} left" },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let published = 0;
  let duplicates = 0;
  let claimed = 0;
  const started = Date.now();
  try {
    let docs: AsyncIterable<DataDocument>;
    let total = 0;
    if (o.dir) {
      const dir = o.dir;
      const files = await listDirDocuments(dir);
      total = files.length;
      docs = (async function* () {
        for (const f of files) yield await readDirDocument(dir, f);
      })();
    } else if (o.jsonl) {
      docs = readJsonl(o.jsonl);
    } else {
      throw new Error("give --jsonl FILE or --dir PATH");
    }
    bar?.start(total || 1, 0, { rate: "0" });
    const window = new Set<Promise<void>>();
    for await (const doc of docs) {
      if (window.size >= 256) await Promise.race(window);
      const p = publishDataEvent(bus, o.tenant, o.source, "upsert", doc, {
        format: o.format,
        source: `/cli/${o.source}`,
      })
        .then((r) => {
          published++;
          if (r.duplicate) duplicates++;
          if (r.claimed) claimed++;
          if (bar) {
            if (!total) bar.setTotal(published);
            bar.update(published, {
              rate: Math.round(published / Math.max(0.001, (Date.now() - started) / 1000)),
            });
          }
        })
        .finally(() => window.delete(p));
      window.add(p);
    }
    await Promise.all(window);
    bar?.stop();
    return { published, duplicates, claimed };
  } finally {
    bar?.stop();
    await bus.close();
  }
}
