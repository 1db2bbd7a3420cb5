import { writeFile } from "node:fs/promises";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { parseTopics } from "@tailor/eval";
import { RetrievalService, type SearchHit, SearchMode, type SearchResponse } from "@tailor/proto";
import { readInputFile } from "./input-file.js";

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
    /** Registry version (`retrieval@v2`) or alias (`prod`); neither: the tenant's prod. */
    version?: string;
    alias?: string;
  },
): Promise<{ hits: SearchHit[]; modelVersion: string; version: string; response: SearchResponse }> {
  const r = await client.search({
    tenant: o.tenant,
    query: o.query,
    k: o.k,
    mode: MODES[o.mode],
    sources: o.sources ?? [],
    metadata: o.metadata ?? {},
    version: o.version ?? "",
    alias: o.alias ?? "",
  });
  return { hits: r.hits, modelVersion: r.modelVersion, version: r.version, response: r };
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

/**
 * Reads `qid<TAB>query` lines and writes a TREC run for all of them, at one version: the one
 * given, else the one the first answer names (so a promotion mid-run cannot mix two versions).
 * The run tag defaults to that version.
 */
export async function batchSearch(
  client: Client<typeof RetrievalService>,
  o: {
    tenant: string;
    topics: string;
    run: string;
    k: number;
    mode: ModeName;
    /** Default: the version searched (`retrieval@v2`), else the index version. */
    tag?: string;
    /** Registry version to search at. */
    version?: string;
    concurrency?: number;
  },
): Promise<{ topics: number; lines: number; version: string; tag: string }> {
  const topics = parseTopics(await readInputFile(o.topics, "--topics"), o.topics).map((t) => ({
    qid: t.id,
    query: t.text,
  }));
  const hits: SearchHit[][] = new Array(topics.length);
  let version = o.version ?? "";
  let modelVersion = "";
  const one = async (i: number) => {
    const t = topics[i]!;
    const r = await searchOnce(client, {
      tenant: o.tenant,
      query: t.query,
      k: Math.min(1000, o.k),
      mode: o.mode,
      version,
    });
    if (version && r.version && r.version !== version)
      throw new Error(`topic ${t.qid} was searched at ${r.version}, not ${version}`);
    version ||= r.version;
    modelVersion ||= r.modelVersion;
    hits[i] = r.hits;
  };
  if (topics.length > 0) await one(0);
  let next = 1;
  const worker = async () => {
    while (next < topics.length) await one(next++);
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
  const tag = o.tag ?? (version || modelVersion || "tailor");
  const lines = topics.flatMap((t, i) => toTrecLines(t.qid, hits[i] ?? [], tag, o.k));
  await writeFile(o.run, lines.length ? `${lines.join("\n")}\n` : "");
  return { topics: topics.length, lines: lines.length, version: version || modelVersion, tag };
}
