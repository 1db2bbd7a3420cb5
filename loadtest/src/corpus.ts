import { mulberry32 } from "@tailor/models";

export { mulberry32 };

/**
 * Synthetic documents and queries. The words are ordinary English so BM25 and the embedder do
 * real work; every document also carries one marker word found nowhere else, which is how the
 * harness proves a particular document became searchable.
 */

const WORDS = (
  "account action agreement analysis annual approval archive audit balance benefit billing " +
  "budget calendar campaign capacity catalog change claim client compliance contract cost " +
  "customer data deadline delivery department deployment design device discount document " +
  "employee energy engineer equipment estimate event expense facility feedback finance " +
  "forecast freight goal guideline hardware health holiday incident insurance inventory " +
  "invoice laptop leave license logistics maintenance manager market meeting migration " +
  "network office onboarding order outage partner payment payroll pension performance " +
  "permission policy pricing priority procedure product project purchase quality quarter " +
  "receipt recruiting refund region release renewal report request research retention " +
  "revenue review risk roadmap safety salary schedule security server service shipment " +
  "software staff storage strategy subscription supplier support survey system target tax " +
  "team template tender ticket training travel upgrade vacation vendor warehouse warranty " +
  "website workflow"
).split(" ");

/** A run id of lower-case letters: safe inside subject tokens and kept whole by the analyzer. */
export function newRunId(rand: () => number = Math.random, length = 6): string {
  let s = "";
  for (let i = 0; i < length; i++) s += String.fromCharCode(97 + Math.floor(rand() * 26));
  return s;
}

/** The marker word of document `seq` of run `runId`; letters and digits only, one token. */
export function markerOf(runId: string, seq: number): string {
  return `zlt${runId}q${seq}x`;
}

export function tenantOf(runId: string, index: number): string {
  return `lt-${runId}-${index}`;
}

export interface SyntheticDoc {
  tenant: string;
  id: string;
  title: string;
  text: string;
  marker: string;
}

function pick(rand: () => number): string {
  return WORDS[Math.floor(rand() * WORDS.length)]!;
}

/** Document `seq`: round-robin over the tenants, about `bytes` of text, marker in the middle. */
export function makeDoc(
  runId: string,
  seq: number,
  tenants: number,
  bytes: number,
  rand: () => number,
): SyntheticDoc {
  const marker = markerOf(runId, seq);
  const parts: string[] = [];
  let size = marker.length + 1;
  const half = bytes / 2;
  let placed = false;
  while (size < bytes) {
    if (!placed && size >= half) {
      parts.push(marker);
      placed = true;
    }
    const w = pick(rand);
    parts.push(w);
    size += w.length + 1;
  }
  if (!placed) parts.push(marker);
  return {
    tenant: tenantOf(runId, seq % tenants),
    id: `d${seq}`,
    title: `${pick(rand)} ${pick(rand)} ${seq}`,
    text: parts.join(" "),
    marker,
  };
}

/** A two- or three-word query over the same vocabulary. */
export function makeQuery(rand: () => number): string {
  const n = rand() < 0.5 ? 2 : 3;
  return Array.from({ length: n }, () => pick(rand)).join(" ");
}
