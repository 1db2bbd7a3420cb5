import { createHash } from "node:crypto";
import { type Bus, decodeEvent, Events } from "@tailor/bus";
import type { FeedbackReceived } from "@tailor/proto";
import { ID_RULE, textProblem } from "@tailor/service";
import type { Logger } from "@tailor/telemetry";
import type { TrainSet } from "../data/eval-data.js";
import { cleanQuestion, readSubject } from "./guard-events.js";

/** Feedback queries kept at most, the newest (what a job holds stays bounded). */
const MAX_PAIRS = 5000;
/** Documents one feedback may name as relevant (the gateway accepts up to 1000). */
const MAX_DOCUMENTS = 100;

/** One labelled pair from feedback: a tenant's question and the documents named relevant. */
export interface FeedbackPair {
  /** `feedback:<interaction>` (or `feedback:<feedback id>`): apart from eval set query ids. */
  id: string;
  text: string;
  documents: string[];
}

/**
 * The labelled pair one feedback event gives, if any: its question (cleaned) and the document
 * ids it names relevant, at grade 1. The rating is not looked at: naming relevant documents is
 * a judgement of retrieval, whatever the answer built on them was rated. Chunk ids alone give
 * nothing (mapping them needs the whole corpus, which not every kind reads). An event of another
 * tenant, with no question, or no valid document id gives nothing.
 */
export function feedbackPair(e: FeedbackReceived, tenant: string): FeedbackPair | undefined {
  if (e.tenant !== tenant) return undefined;
  const key = e.interaction || e.feedbackId;
  const text = cleanQuestion(e.question);
  if (!key || !text || textProblem(key, ID_RULE)) return undefined;
  const documents = [
    ...new Set(e.relevantDocumentIds.filter((d) => !textProblem(d, ID_RULE))),
  ].slice(0, MAX_DOCUMENTS);
  if (documents.length === 0) return undefined;
  return { id: `feedback:${key}`, text, documents };
}

/**
 * Reads one tenant's feedback from the bus (at most `maxEvents` messages, oldest first) and
 * returns its labelled pairs; later feedback on the same interaction replaces earlier.
 */
export async function readFeedbackPairs(
  bus: Bus,
  tenant: string,
  o: { maxEvents: number; signal: AbortSignal; logger: Logger },
): Promise<{ pairs: FeedbackPair[]; read: number; truncated: boolean }> {
  const byId = new Map<string, FeedbackPair>();
  const r = await readSubject(
    bus,
    "FEEDBACK",
    bus.subjects.feedback(tenant, "received"),
    o,
    (m) => {
      const p = feedbackPair(decodeEvent(Events.feedbackReceived, m), tenant);
      if (!p) return;
      byId.delete(p.id);
      byId.set(p.id, p);
      if (byId.size > MAX_PAIRS) byId.delete(byId.keys().next().value!);
    },
  );
  return { pairs: [...byId.values()], read: r.read, truncated: r.truncated };
}

/**
 * The train set with feedback pairs added as judged queries (grade 1). A pair is left out when
 * its id is an eval set query's or its question is one of `exclude` (the held-out set's queries,
 * compared case- and space-insensitively: a candidate is never trained on what judges it). The
 * hash changes only when something was added, and then covers every added pair.
 */
export function withFeedback(
  train: TrainSet,
  pairs: readonly FeedbackPair[],
  exclude: ReadonlySet<string>,
): { train: TrainSet; added: number } {
  const added = pairs.filter((p) => !train.qrels.has(p.id) && !exclude.has(normalise(p.text)));
  if (added.length === 0) return { train, added: 0 };
  const h = createHash("sha256").update(`${train.hash}\n`);
  const queries = [...train.queries];
  const qrels = new Map(train.qrels);
  const judged = [...train.judged];
  for (const p of [...added].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const relevant = new Map(p.documents.map((d) => [d, 1]));
    queries.push({ id: p.id, text: p.text });
    qrels.set(p.id, relevant);
    judged.push({ id: p.id, text: p.text, relevant });
    h.update(`${p.id}\t${p.text}\n\t${[...p.documents].sort().join("\t")}\n`);
  }
  return {
    train: { ...train, hash: h.digest("hex"), queries, qrels, judged },
    added: added.length,
  };
}

/** How a question is compared with held-out queries. */
export function normalise(text: string): string {
  return text.trim().replace(/\s+/g, " ").toLowerCase();
}
