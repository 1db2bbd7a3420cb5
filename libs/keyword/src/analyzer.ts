import { stemmer } from "stemmer";

/** Lucene's classic English stop set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET), 33 words. */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  "a",
  "an",
  "and",
  "are",
  "as",
  "at",
  "be",
  "but",
  "by",
  "for",
  "if",
  "in",
  "into",
  "is",
  "it",
  "no",
  "not",
  "of",
  "on",
  "or",
  "such",
  "that",
  "the",
  "their",
  "then",
  "there",
  "these",
  "they",
  "this",
  "to",
  "was",
  "will",
  "with",
]);

/**
 * Runs of letters, combining marks and digits; an inner apostrophe stays in the token (as in
 * Lucene's StandardTokenizer) so the possessive step below can see "john's".
 */
const TOKEN = /[\p{L}\p{M}\p{N}]+(?:['\u2019][\p{L}\p{M}\p{N}]+)*/gu;
/** StandardTokenizer's default maximum token length; longer runs are noise (hashes, base64). */
const MAX_TOKEN_LENGTH = 255;

/**
 * EnglishAnalyzer-like pipeline: tokenise, lowercase, drop English possessive 's, drop stop
 * words, Porter-stem. Returns terms in text order (duplicates kept, for term frequencies).
 */
export function analyze(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(TOKEN)) {
    let token = match[0];
    if (token.length > MAX_TOKEN_LENGTH) continue;
    token = token.toLowerCase();
    if (token.endsWith("'s") || token.endsWith("\u2019s")) token = token.slice(0, -2);
    if (token.length === 0 || ENGLISH_STOP_WORDS.has(token)) continue;
    out.push(stemmer(token));
  }
  return out;
}
