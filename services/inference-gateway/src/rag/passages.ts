import { create } from "@bufbuild/protobuf";
import { Action, type ChunkVerdict, type SearchHit } from "@tailor/proto";
import { type Citation, CitationSchema } from "@tailor/proto/gateway";
import type { Passage } from "../types.js";

/** Retrieved hits split by their ingest-time verdicts. */
export interface Screened {
  /** What the generator may read, numbered from 1 in retrieval order. */
  passages: Passage[];
  /** Hits kept out of the prompt: flagged at ingest (indirect injection), or never scanned. */
  withheld: string[];
  /** chunk id → the text a caller may see (PII spans the guard found replaced when its policy redacts). */
  shown: Map<string, string>;
}

/** Whether a chunk's stored verdict keeps it out of generated answers. */
export function isWithheld(v: ChunkVerdict | undefined): boolean {
  // A chunk the guard has not scanned yet is treated as untrusted.
  if (!v?.verdict) return true;
  const a = v.verdict.action;
  return v.verdict.injection?.detected === true || a === Action.BLOCK || a === Action.FLAG;
}

/** The chunk's text with the PII spans its verdict found replaced, when the verdict redacts. */
export function shownText(text: string, v: ChunkVerdict | undefined): string {
  const verdict = v?.verdict;
  if (!verdict || verdict.action !== Action.REDACT || verdict.pii.length === 0) return text;
  const spans = [...verdict.pii].sort((a, b) => a.start - b.start);
  const parts: string[] = [];
  let at = 0;
  for (const s of spans) {
    // Spans are UTF-16 offsets into the text the guard scanned; one that does not fit is skipped.
    if (s.end > text.length || s.start < at || s.end <= s.start) continue;
    parts.push(text.slice(at, s.start), `[${s.type}]`);
    at = s.end;
  }
  parts.push(text.slice(at));
  return parts.join("");
}

export function screen(hits: readonly SearchHit[], verdicts: readonly ChunkVerdict[]): Screened {
  const byId = new Map(verdicts.map((v) => [v.chunkId, v]));
  const passages: Passage[] = [];
  const withheld: string[] = [];
  const shown = new Map<string, string>();
  for (const h of hits) {
    const v = byId.get(h.chunkId);
    shown.set(h.chunkId, shownText(h.text, v));
    if (isWithheld(v)) {
      withheld.push(h.chunkId);
      continue;
    }
    passages.push({
      number: passages.length + 1,
      chunkId: h.chunkId,
      documentId: h.documentId,
      source: h.source,
      title: h.title,
      text: h.text,
      score: h.score,
    });
  }
  return { passages, withheld, shown };
}

/** The citation numbers `[n]` an answer uses, of passages that exist. */
export function citedNumbers(answer: string, passages: number): Set<number> {
  const cited = new Set<number>();
  for (const m of answer.matchAll(/\[(\d{1,4})\]/g)) {
    const n = Number(m[1]);
    if (n >= 1 && n <= passages) cited.add(n);
  }
  return cited;
}

/** The citations of an answer: the passages it refers to by `[n]`, in number order. */
export function citationsOf(answer: string, s: Screened): Citation[] {
  const cited = citedNumbers(answer, s.passages.length);
  return s.passages
    .filter((p) => cited.has(p.number))
    .map((p) =>
      create(CitationSchema, {
        number: p.number,
        chunkId: p.chunkId,
        documentId: p.documentId,
        source: p.source,
        title: p.title,
        text: s.shown.get(p.chunkId) ?? "",
        score: p.score,
      }),
    );
}
