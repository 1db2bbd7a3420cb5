import { analyze } from "@tailor/keyword";
import type { GeneratorSpec } from "@tailor/proto";
import type { GenerateInput, GenerationResult, Generator, Passage } from "../types.js";
import { throwIfCancelled } from "./errors.js";
import { effectiveMaxTokens, NO_ANSWER } from "./prompt.js";
import { citeSentence, splitSentences } from "./text.js";
import { estimateTokens } from "./tokens.js";

/** Sentences per answer when the spec sets none. */
export const DEFAULT_MAX_SENTENCES = 3;
/** Characters of one passage read for sentences (retrieved chunks are far shorter). */
export const MAX_PASSAGE_CHARS = 32 * 1024;
/** Characters of all passages read together: bounds the time of one answer on any input. */
export const MAX_TOTAL_CHARS = 256 * 1024;
/** Sentences scored at most, over all passages. */
const MAX_CANDIDATES = 4096;
const K1 = 1.2;
const B = 0.75;
/** A sentence scoring under this share of the best is not support worth quoting. */
const MIN_SHARE_OF_BEST = 0.25;
/** Terms of the previous user turn help a follow-up ("and its population?"), weighted down. */
const HISTORY_WEIGHT = 0.3;
/** A sentence that asks (an FAQ's own question) repeats the question rather than answering it. */
const QUESTION_PENALTY = 0.25;
/** Share of a restating heading's score given to the sentence after it. */
const FOLLOWS_HEADING = 0.9;
/** Share of shared terms above which a sentence repeats one already chosen. */
const NEAR_DUPLICATE = 0.8;

/**
 * Words of a question that say nothing about its topic (wh-words, pronouns, auxiliaries,
 * politeness), as the analyzer stems them; Lucene's stop set leaves them in.
 */
const QUESTION_WORDS = new Set(
  analyze(
    "what which who whom whose when where why how its it's i me my mine you your yours he him his " +
      "she her hers we us our ours them do does did done can could should would may might must " +
      "shall has have had been being am were tell explain describe please about also any some",
  ),
);

interface Candidate {
  passage: Passage;
  rank: number;
  position: number;
  text: string;
  terms: string[];
  score: number;
  /** Asks, or says nothing the question does not: quoted only when nothing else answers. */
  restates: boolean;
}

/**
 * The default generator, no language model: quotes the sentences of the passages that best
 * support the question (BM25 over sentences with @tailor/keyword's analyzer, near-duplicates
 * dropped), best first, each followed by its passage's marker `[n]`, one sentence per delta.
 * Usage is estimated with {@link estimateTokens}: prompt = question + passage text read,
 * completion = answer text.
 */
export function extractiveGenerator(spec: GeneratorSpec, version: string): Generator {
  const maxSentences = spec.maxSentences > 0 ? spec.maxSentences : DEFAULT_MAX_SENTENCES;
  return {
    version,
    model: "extractive",
    spec,
    generate: (input) => answer(input, spec, maxSentences),
  };
}

async function* answer(
  input: GenerateInput,
  spec: GeneratorSpec,
  maxSentences: number,
): AsyncGenerator<string, GenerationResult, void> {
  throwIfCancelled(input.signal);
  const { candidates, readChars } = collect(input.passages);
  const promptTokens = estimateTokens(input.question) + Math.ceil(readChars / 4);
  const chosen = choose(candidates, queryWeights(input), maxSentences);
  if (chosen.length === 0) {
    yield NO_ANSWER;
    return { promptTokens, completionTokens: estimateTokens(NO_ANSWER), finishReason: "stop" };
  }
  const limit = effectiveMaxTokens(spec, input.maxTokens);
  let text = "";
  let finishReason: GenerationResult["finishReason"] = "stop";
  for (const c of chosen) {
    throwIfCancelled(input.signal);
    const sep = text ? " " : "";
    let piece = sep + citeSentence(c.text, c.passage.number);
    if (estimateTokens(text + piece) > limit) {
      finishReason = "length";
      if (text) break;
      // Even the best sentence is too long: quote as many of its words as fit.
      piece = truncated(c.text, c.passage.number, limit * 4);
      if (!piece) break;
    }
    text += piece;
    yield piece;
    if (finishReason === "length") break;
  }
  return { promptTokens, completionTokens: estimateTokens(text), finishReason };
}

/** The first words of `sentence` that fit in `chars` with an ellipsis and the marker, or "". */
function truncated(sentence: string, n: number, chars: number): string {
  const room = chars - ` [${n}].`.length - 1;
  if (room <= 0) return "";
  const cut = sentence.lastIndexOf(" ", room);
  if (cut <= 0) return "";
  return `${sentence.slice(0, cut)}… [${n}].`;
}

function collect(passages: readonly Passage[]): { candidates: Candidate[]; readChars: number } {
  const candidates: Candidate[] = [];
  let readChars = 0;
  for (const [rank, passage] of passages.entries()) {
    const budget = Math.min(MAX_PASSAGE_CHARS, MAX_TOTAL_CHARS - readChars);
    if (budget <= 0 || candidates.length >= MAX_CANDIDATES) break;
    const text = passage.text.length > budget ? passage.text.slice(0, budget) : passage.text;
    readChars += text.length;
    const sentences = splitSentences(text, MAX_CANDIDATES - candidates.length);
    for (const [position, s] of sentences.entries()) {
      const terms = analyze(s);
      if (terms.length === 0) continue;
      candidates.push({ passage, rank, position, text: s, terms, score: 0, restates: false });
    }
  }
  return { candidates, readChars };
}

function queryWeights(input: GenerateInput): Map<string, number> {
  const weights = new Map<string, number>();
  const terms = (text: string) =>
    analyze(text.slice(0, MAX_PASSAGE_CHARS)).filter((t) => !QUESTION_WORDS.has(t));
  const lastUser = input.history.findLast((t) => t.role === "user");
  if (lastUser) for (const t of terms(lastUser.content)) weights.set(t, HISTORY_WEIGHT);
  for (const t of terms(input.question)) weights.set(t, 1);
  return weights;
}

/** Scores every candidate (BM25, each sentence a document) and picks the answer's sentences. */
function choose(
  candidates: Candidate[],
  query: Map<string, number>,
  maxSentences: number,
): Candidate[] {
  if (candidates.length === 0 || query.size === 0) return [];
  const df = new Map<string, number>();
  let totalLength = 0;
  for (const c of candidates) {
    totalLength += c.terms.length;
    for (const t of new Set(c.terms)) if (query.has(t)) df.set(t, (df.get(t) ?? 0) + 1);
  }
  const n = candidates.length;
  const avgLength = totalLength / n;
  const tf = new Map<string, number>();
  for (const [i, c] of candidates.entries()) {
    tf.clear();
    for (const t of c.terms) if (query.has(t)) tf.set(t, (tf.get(t) ?? 0) + 1);
    let score = 0;
    const norm = K1 * (1 - B + (B * c.terms.length) / avgLength);
    for (const [t, f] of tf) {
      const d = df.get(t) ?? 0;
      const idf = Math.log(1 + (n - d + 0.5) / (d + 0.5));
      score += query.get(t)! * idf * ((f * (K1 + 1)) / (f + norm));
    }
    // Asking, or saying nothing the question does not (a heading, an FAQ's title), restates the
    // question rather than answering it.
    const restates = c.text.endsWith("?") || newTerms(c.terms, query) === 0;
    c.restates = restates;
    c.score = restates ? score * QUESTION_PENALTY : Math.max(c.score, score);
    // What follows a heading that restates the question is its answer, in whatever words.
    const next = candidates[i + 1];
    if (restates && next?.passage === c.passage && next.position === c.position + 1)
      next.score = Math.max(next.score, score * FOLLOWS_HEADING);
  }
  const answering = candidates.some((c) => c.score > 0 && !c.restates);
  const ranked = candidates
    .filter((c) => c.score > 0 && !(answering && c.restates))
    .sort((a, b) => b.score - a.score || a.rank - b.rank || a.position - b.position);
  const best = ranked[0]?.score ?? 0;
  const chosen: Candidate[] = [];
  const seen = new Set<string>();
  for (const c of ranked) {
    if (chosen.length >= maxSentences || c.score < best * MIN_SHARE_OF_BEST) break;
    const key = c.terms.join(" ");
    if (seen.has(key) || chosen.some((o) => overlap(o.terms, c.terms) >= NEAR_DUPLICATE)) continue;
    seen.add(key);
    chosen.push(c);
  }
  return chosen;
}

/** Distinct terms of a sentence that the question (and question words) do not hold. */
function newTerms(terms: readonly string[], query: ReadonlyMap<string, number>): number {
  const fresh = new Set<string>();
  for (const t of terms) if (!query.has(t) && !QUESTION_WORDS.has(t)) fresh.add(t);
  return fresh.size;
}

/** Jaccard similarity of two term lists as sets. */
function overlap(a: readonly string[], b: readonly string[]): number {
  const sa = new Set(a);
  const sb = new Set(b);
  let shared = 0;
  for (const t of sa) if (sb.has(t)) shared++;
  return shared / (sa.size + sb.size - shared);
}
