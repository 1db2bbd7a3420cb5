import { readFile, writeFile } from "node:fs/promises";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { parseTopics } from "@tailor/eval";
import { RetrievalService, type SearchHit, SearchMode, type SearchResponse } from "@tailor/proto";

export type ModeName = "dense" | "keyword" | "hybrid";

const MODES: Record<ModeName, SearchMode> = {
  dense: SearchMode.DENSE,
  keyword: SearchMode.KEYWORD,
  hybrid: SearchMode.HYBRID,
};

export function retrievalClient(url: string): Client<typeof RetrievalService> {
  return createClient(RetrievalService, createGrpcTransport({ baseUrl: url }));
}

export async function searchOnce(
  client: Client<typeof RetrievalService>,
  o: {
    tenant: string;
    query: string;
    k: number;
    mode: ModeName;
    sources?: string[];
    metadata?: Record<string, string>;
  },
): Promise<{ hits: SearchHit[]; modelVersion: string; response: SearchResponse }> {
  const r = await client.search({
    tenant: o.tenant,
    query: o.query,
    k: o.k,
    mode: MODES[o.mode],
    sources: o.sources ?? [],
    metadata: o.metadata ?? {},
  });
  return { hits: r.hits, modelVersion: r.modelVersion, response: r };
}

/** Chunk hits → one line per document (its best chunk), in TREC run format. */
export function toTrecLines(qid: string, hits: SearchHit[], tag: string, k: number): string[] {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const h of hits) {
    if (seen.has(h.documentId)) continue;
    seen.add(h.documentId);
    lines.push(`${qid} Q0 ${h.documentId} ${lines.length + 1} ${h.score.toFixed(6)} ${tag}`);
    if (lines.length >= k) break;
  }
  return lines;
}

/** Reads `qid<TAB>query` lines and writes a TREC run for all of them. */
export async function batchSearch(
  client: Client<typeof RetrievalService>,
  o: {
    tenant: string;
    topics: string;
    run: string;
    k: number;
    mode: ModeName;
    tag: string;
    concurrency?: number;
  },
): Promise<{ topics: number; lines: number }> {
  const topics = parseTopics(await readFile(o.topics, "utf8"), o.topics).map((t) => ({
    qid: t.id,
    query: t.text,
  }));
  const out: string[][] = new Array(topics.length);
  let next = 0;
  const worker = async () => {
    while (next < topics.length) {
      const i = next++;
      const t = topics[i]!;
      const { hits } = await searchOnce(client, {
        tenant: o.tenant,
        query: t.query,
        k: Math.min(1000, o.k),
        mode: o.mode,
      });
      out[i] = toTrecLines(t.qid, hits, o.tag, o.k);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
  const lines = out.flat();
  await writeFile(o.run, lines.length ? `${lines.join("\n")}\n` : "");
  return { topics: topics.length, lines: lines.length };
}
