import { KeywordIndex } from "@tailor/keyword";
import type { KeywordCorpus } from "@tailor/train";
import type { Corpus } from "../data/corpus.js";

/**
 * The corpus indexed the way retrieval indexes it: one keyword document per chunk (its
 * document's title and its text), judged per document at its best chunk.
 */
export function keywordCorpus(tenant: string, corpus: Corpus): KeywordCorpus {
  const index = new KeywordIndex();
  const documentOf = new Map<string, string>();
  for (const c of corpus.chunks) {
    index.add(tenant, c.chunkId, { title: c.title, text: c.text, source: "", metadata: {} });
    documentOf.set(c.chunkId, c.documentId);
  }
  return { index, tenant, documentOf: (id) => documentOf.get(id) };
}
