import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Client } from "@connectrpc/connect";
import { type Bus, consumerBacklog, type DataDocument, publishDataEvent } from "@tailor/bus";
import { type IngestionService, type RetrievalService, SearchMode } from "@tailor/proto";

export const DEMO_TENANT = "demo";
export const DEMO_SOURCE = "docs";

/** A demo question and the section that should answer it (checked by tests/src/demo.test.ts). */
export interface DemoQuestion {
  query: string;
  expect: string;
}

export const DEMO_QUESTIONS: DemoQuestion[] = [
  { query: "how do I run the test suites", expect: "docs/operations.md#running-the-tests" },
  { query: "can I run the model-server on a GPU", expect: "README.md#on-a-gpu-node" },
  {
    query: "what happens to a malformed event",
    expect: "docs/events.md#what-happens-to-a-malformed-event",
  },
  {
    query: "what if a service crashes, is anything lost",
    expect: "docs/operations.md#restarts-and-crashes",
  },
  { query: "can I use my own Hugging Face model", expect: "README.md#models-and-the-model-server" },
];

/** The user documentation: the README and docs/ (not the load-test or fixture folders). */
async function corpusFiles(root: string): Promise<string[]> {
  const docs = (await readdir(join(root, "docs")))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`);
  return ["README.md", ...docs];
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .trim()
    .replace(/ /g, "-");
}

/**
 * The documentation cut at its `##` and `###` headings, one document per section (id
 * `path#anchor`), so an answer points at the section that holds it rather than at a whole file.
 */
export async function demoDocuments(root: string): Promise<DataDocument[]> {
  const out: DataDocument[] = [];
  for (const path of await corpusFiles(root)) {
    const text = await readFile(join(root, path), "utf8");
    const fileTitle = /^#\s+(.+)$/m.exec(text)?.[1]?.trim() ?? path;
    let heading = "";
    let lines: string[] = [];
    let fenced = false;
    const flush = () => {
      const body = lines.join("\n").trim();
      if (body)
        out.push({
          id: heading ? `${path}#${slug(heading)}` : path,
          title: heading ? `${fileTitle}: ${heading}` : fileTitle,
          text: body,
          contentType: "text/markdown",
          metadata: { path },
        });
      lines = [];
    };
    for (const line of text.split("\n")) {
      if (line.startsWith("```")) fenced = !fenced;
      const h = fenced ? null : /^#{2,3}\s+(.+)$/.exec(line);
      if (h?.[1]) {
        flush();
        heading = h[1].trim();
      }
      lines.push(line);
    }
    flush();
  }
  return out;
}

/**
 * Publishes the corpus as data events and deletes documents of the tenant that are no longer in
 * it (a corpus from an earlier version of the demo), so the answers come from this one.
 */
export async function publishDemo(
  bus: Bus,
  ingestion: Client<typeof IngestionService>,
  docs: DataDocument[],
): Promise<{ published: number; duplicates: number; deleted: number }> {
  const wanted = new Set(docs.map((d) => d.id));
  let deleted = 0;
  let pageToken = "";
  do {
    const page = await ingestion.listDocuments({
      tenant: DEMO_TENANT,
      source: DEMO_SOURCE,
      pageSize: 1000,
      pageToken,
    });
    for (const d of page.documents) {
      if (wanted.has(d.id)) continue;
      await publishDataEvent(bus, DEMO_TENANT, DEMO_SOURCE, "delete", { id: d.id });
      deleted++;
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  let duplicates = 0;
  for (const doc of docs) {
    const r = await publishDataEvent(bus, DEMO_TENANT, DEMO_SOURCE, "upsert", doc, {
      format: "cloudevents",
      source: "/demo/docs",
    });
    if (r.duplicate) duplicates++;
  }
  return { published: docs.length, duplicates, deleted };
}

/**
 * Waits until the tenant holds `count` documents and every consumer of the pipeline is
 * idle twice in a row (the outbox relay publishes right after ingestion acks).
 */
export async function waitSearchable(
  bus: Bus,
  retrieval: Client<typeof RetrievalService>,
  count: number,
  o: { timeoutMs?: number; retrievalIndexDir?: string } = {},
): Promise<{ documents: number; chunks: number; modelVersion: string; ms: number }> {
  const timeoutMs = o.timeoutMs ?? 120_000;
  const t0 = Date.now();
  // Retrieval keeps one durable consumer per index: other checkouts' abandoned ones on the same
  // NATS hold a backlog that is not ours, so watch only this stack's when its index is known.
  const retrievalDurable = o.retrievalIndexDir
    ? await retrievalConsumer(o.retrievalIndexDir)
    : "retrieval";
  const quiet = async () => {
    for (const [stream, durable] of [
      ["DATA", "ingestion"],
      ["CHUNK", "embedding"],
      ["EMBEDDING", retrievalDurable],
    ] as const) {
      const backlog = await consumerBacklog(bus, stream, durable).catch(() => undefined);
      if (!backlog || backlog.consumers === 0 || backlog.messages > 0) return false;
    }
    return true;
  };
  let quietLooks = 0;
  while (true) {
    const s = await retrieval.stats({ tenant: DEMO_TENANT });
    quietLooks = (await quiet()) ? quietLooks + 1 : 0;
    // The model version appears once retrieval has resolved its default embedder (the first
    // start converts the GloVe vectors, so that can come after the documents).
    if (Number(s.documents) >= count && quietLooks >= 2 && s.modelVersion !== "")
      return {
        documents: Number(s.documents),
        chunks: Number(s.chunks),
        modelVersion: s.modelVersion,
        ms: Date.now() - t0,
      };
    if (Date.now() - t0 > timeoutMs)
      throw new Error(
        s.modelVersion === ""
          ? `retrieval has not resolved its embedder after ${Math.round(timeoutMs / 1000)} s (is the model-server answering?)`
          : `only ${s.documents}/${count} documents searchable after ${Math.round(timeoutMs / 1000)} s`,
      );
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** The durable consumer of the retrieval index in `indexDir` (named by the id in its state.json). */
async function retrievalConsumer(indexDir: string): Promise<string> {
  const state = await readFile(join(indexDir, "state.json"), "utf8").catch(() => "");
  const id = state ? (JSON.parse(state) as { indexId?: string }).indexId : undefined;
  return id ? `retrieval-${id}` : "retrieval";
}

/** Asks every demo question (hybrid search, top k). */
export async function askDemo(retrieval: Client<typeof RetrievalService>, k = 3) {
  const answers = [];
  for (const q of DEMO_QUESTIONS) {
    const res = await retrieval.search({
      tenant: DEMO_TENANT,
      query: q.query,
      k,
      mode: SearchMode.HYBRID,
    });
    answers.push({ question: q, hits: res.hits });
  }
  return answers;
}
