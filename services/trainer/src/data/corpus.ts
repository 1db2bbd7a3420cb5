import { createHash } from "node:crypto";
import { mulberry32 } from "@tailor/models/random";
import type { ListedChunk } from "@tailor/proto";
import type { Remote } from "./remote.js";

/** A chunk as the trainer keeps it. */
export interface CorpusChunk {
  chunkId: string;
  documentId: string;
  title: string;
  index: number;
  text: string;
}

export interface Corpus {
  /** The kept chunks, in chunk id order (a seeded sample when the tenant has more than the cap). */
  chunks: CorpusChunk[];
  /** Chunks the tenant has. */
  total: number;
  /** SHA-256 over every chunk id and its document version, in chunk id order. */
  hash: string;
}

/**
 * Reads the tenant's chunks from ingestion. Memory is bounded whatever the corpus size: at most
 * `maxChunks` chunks are held, chosen by reservoir sampling (Algorithm R) with the job's seed
 * over a stream ordered by chunk id, so the same corpus and seed keep the same sample on every
 * resume. With `keepText` false nothing but the hash is kept (jobs that search rather than read).
 */
export async function readCorpus(
  remote: Remote,
  tenant: string,
  o: {
    maxChunks: number;
    seed: number;
    keepText: boolean;
    signal?: AbortSignal;
    onPage?: (n: number) => void;
  },
): Promise<Corpus> {
  const hash = createHash("sha256");
  const rng = mulberry32(o.seed ^ 0x5bd1e995);
  const kept: CorpusChunk[] = [];
  let total = 0;
  let last = "";
  for await (const page of remote.listChunks(tenant, o.signal)) {
    for (const c of page) {
      // The contract says chunk id order; the hash and the sample depend on it, so check it.
      if (c.chunkId <= last)
        throw new Error(`ingestion listed chunk ${c.chunkId} after ${last}: not in chunk id order`);
      last = c.chunkId;
      hash.update(`${c.chunkId}\t${c.documentVersion}\n`);
      total++;
      if (!o.keepText) continue;
      if (kept.length < o.maxChunks) kept.push(toChunk(c));
      else {
        const j = Math.floor(rng() * total);
        if (j < o.maxChunks) kept[j] = toChunk(c);
      }
    }
    o.onPage?.(total);
  }
  kept.sort((a, b) => (a.chunkId < b.chunkId ? -1 : a.chunkId > b.chunkId ? 1 : 0));
  return { chunks: kept, total, hash: hash.digest("hex") };
}

function toChunk(c: ListedChunk): CorpusChunk {
  return {
    chunkId: c.chunkId,
    documentId: c.documentId,
    title: c.title,
    index: c.index,
    text: c.text,
  };
}

/** SHA-256 of the training data: the eval set's hash and the corpus snapshot's. */
export function datasetHash(evalSetHash: string, corpusHash: string): string {
  return createHash("sha256").update(`${evalSetHash}\n${corpusHash}\n`).digest("hex");
}
