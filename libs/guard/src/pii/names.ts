import type { Gazetteer } from "./gazetteer.js";
import { isStopWord } from "./gazetteer.js";
import { joined, type Token } from "./tokens.js";
import type { Finding } from "./types.js";

const TITLES = new Set(["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "mme"]);
const NAME_SUFFIXES = new Set(["jr", "sr", "md", "phd", "ii", "iii", "iv", "esq", "dds"]);
export const ORG_SUFFIXES = new Set(
  (
    "inc ltd llc llp plc corp corporation company co gmbh ag sa nv bv ab oy spa srl sarl kg " +
    "group holdings partners consulting consultants software systems solutions technologies " +
    "technology labs laboratories bank university college institute foundation association " +
    "society agency media services industries enterprises ventures capital trust fund " +
    "networks communications pharmaceuticals motors airlines insurance hospital clinic academy " +
    "club studios publishing press records entertainment brands associates analytics"
  ).split(" "),
);
const MONTHS_DAYS = new Set(
  (
    "january february march april june july august september october november december " +
    "monday tuesday wednesday thursday friday saturday sunday"
  ).split(" "),
);

// Phrases ending right before a candidate (matched on the lower-cased preceding text).
const PERSON_STRONG =
  /(?:name is|name's|name:|names? are|call me|calls me|called|named|last name\??|first name\??|surname:?|maiden name is|dear|hi|hello|regards,?|sincerely,?|speak to|speak with|talk to|talk with|ask for|assistant to|directed by|starring|written by|said to|signed|attn:?|contact:?|kid|son|daughter|wife|husband|mother|father|brother|sister|friend|boss|colleague|uncle|aunt|nephew|niece|grandson|granddaughter|partner|says|said|asked|told|thanked)[\s,:]*$/;
const PERSON_WEAK = /\b(?:by|and|with|to|for|ask|tell|thank|met|meet|from)[\s,:]*$/;
const PERSON_AFTER =
  /^(?:(?:'s|’s) (?:kid|son|daughter|wife|husband|mother|father|brother|sister|friend|boss|address|phone|email|house|car|account)|(?:'s|’s)?[\s,]*(?:said|says|shouted|asked|told|wrote|writes|lives|lived|began|spent|listed|replied|answered|agreed|has been|had given|is a \d|, can|, could|, please|, would|, will))\b/;
const PERSON_AFTER_WEAK = /^[\s,]*(?:is|was|has|had|will|would|can|could)\b/;
const LOC_STRONG =
  /(?:grew up in|born in|lives? in|living in|moved to|moved from|move to|arrived at|arrived in|returned to|based in|visit(?:ed|ing)? |where:|city of|town of|capital of|located in|travel(?:led|ed)? to|flew to|trip to|from the city of)[\s]*$/;
const LOC_WEAK = /\b(?:in|from|at|near|to|outside|across|around)\s*$/;
const ORG_CONTEXT =
  /(?:work(?:s|ed|ing)? (?:for|at)|employed (?:by|at)|employer:?|company:?|joined|hired by|ceo of|founder of|founded|client|customer of|acquired by|shares of)\s*$/;
const ORG_AFTER = /^[\s,]*(?:website|company|inc\b|corp\b|employees|shares|stock|ceo|headquarters)/;

interface Run {
  tokens: Token[];
  start: number;
  end: number;
}

/** Person, organisation and location candidates from capitalisation runs plus context. */
export function findNames(text: string, tokens: Token[], gaz: Gazetteer, out: Finding[]): void {
  for (let i = 0; i < tokens.length; ) {
    const t = tokens[i]!;
    if (!(t.title || t.caps) || isStopWord(t.lower) || /\d/.test(t.text)) {
      if (!t.title && !t.caps) lowerCaseName(text, tokens, i, gaz, out);
      i++;
      continue;
    }
    let j = i + 1;
    while (
      j < tokens.length &&
      j - i < 5 &&
      (tokens[j]!.title || tokens[j]!.caps) &&
      joined(tokens[j]!) &&
      !isStopWord(tokens[j]!.lower) &&
      !/\d/.test(tokens[j]!.text)
    ) {
      j++;
    }
    const run: Run = { tokens: tokens.slice(i, j), start: t.start, end: tokens[j - 1]!.end };
    classify(text, tokens, i, run, gaz, out);
    i = j;
  }
}

function classify(
  text: string,
  all: Token[],
  index: number,
  run: Run,
  gaz: Gazetteer,
  out: Finding[],
): void {
  const toks = run.tokens;
  const first = toks[0]!;
  if (TITLES.has(first.lower) || MONTHS_DAYS.has(first.lower)) return;
  // Contractions of pronouns ("I'm", "You're") are capitalised for grammar, not for a name.
  const apostrophe = first.lower.search(/['’]/);
  if (apostrophe > 0 && isStopWord(first.lower.slice(0, apostrophe))) return;
  const prev = all[index - 1];
  const before = text.slice(Math.max(0, run.start - 40), run.start).toLowerCase();
  const after = text.slice(run.end, run.end + 30).toLowerCase();
  const lowers = toks.map((t) => t.lower);
  const joinedLower = lowers.join(" ");
  const lastLower = lowers[lowers.length - 1]!;

  // Organisation: a legal/industry suffix ends the run, or company-style context surrounds it.
  if (toks.length >= 2 && ORG_SUFFIXES.has(lastLower)) {
    let end = run.end;
    if (text[end] === "." && /^(?:inc|ltd|corp|co)$/.test(lastLower)) end++;
    out.push({ type: "ORGANIZATION", start: run.start, end, score: 0.85 });
    return;
  }
  const country = gaz.countries.has(joinedLower);
  const city = gaz.cities.has(joinedLower);
  const allCommon = lowers.every((w) => gaz.common.has(w) && !gaz.firstNames.has(w));
  const strongPerson = PERSON_STRONG.test(before);
  if (country && !strongPerson) {
    out.push({ type: "LOCATION", start: run.start, end: run.end, score: 0.85 });
    return;
  }
  if (first.sentenceStart && toks.length === 1 && gaz.common.has(first.lower)) return;
  if (allCommon && !city) return;

  const titled = prev !== undefined && TITLES.has(prev.lower) && /^\.? ?$/.test(first.gap);
  const fn = gaz.firstNames.has(first.lower) && !gaz.common.has(first.lower);
  const fnCommon = gaz.firstNames.has(first.lower);
  const surname = toks.length > 1 && toks.slice(1).every((t) => !gaz.common.has(t.lower));
  // Mid-sentence, a capitalised word that is neither English nor a known place is a proper
  // noun; people are the likeliest kind in the text a guard sees.
  const unknownProper =
    !first.sentenceStart && !first.caps && !gaz.common.has(first.lower) && !city && !fnCommon;
  let person = fn
    ? 0.55
    : fnCommon || gaz.lastNames.has(first.lower)
      ? 0.35
      : unknownProper
        ? 0.4
        : 0.25;
  if (toks.length > 3) person -= 0.3;
  if (surname && toks.length <= 3) person += 0.15;
  if (titled) person += 0.4;
  if (strongPerson) person += 0.35;
  else if (PERSON_WEAK.test(before)) person += 0.1;
  if (PERSON_AFTER.test(after)) person += 0.25;
  else if (PERSON_AFTER_WEAK.test(after)) person += 0.1;
  if (/\bthe\s*$/.test(before)) person -= 0.3;
  if (city) person -= 0.15;

  let loc = city ? 0.55 : 0.2;
  if (LOC_STRONG.test(before)) loc += 0.45;
  else if (LOC_WEAK.test(before)) loc += fn ? 0.1 : 0.3;
  if (first.caps && toks.length === 1) loc += 0.1;
  if (fnCommon && !city) loc -= 0.1;

  let org = 0.1;
  if (ORG_CONTEXT.test(before)) org += 0.5;
  if (ORG_AFTER.test(after)) org += 0.4;
  if (/\bat\s*$/.test(before) && /^\s+(?:as|in)\b/.test(after) && !city) org += 0.55;
  const parts = toks.length === 1 ? first.text.split("-") : [];
  if (parts.length === 2 && parts.every((p) => gaz.lastNames.has(p.toLowerCase()))) org += 0.45;

  let end = run.end;
  const next = all[index + toks.length];
  if (next && NAME_SUFFIXES.has(next.lower) && joined(next) && person >= loc && person >= org) {
    end = next.end;
  }
  const best = Math.max(person, loc, org);
  const type = best === person ? "PERSON" : best === org ? "ORGANIZATION" : "LOCATION";
  out.push({ type, start: run.start, end: type === "PERSON" ? end : run.end, score: clamp(best) });
}

/** Lower-case given names ("john had given ...") are names only when no English word fits. */
function lowerCaseName(
  text: string,
  tokens: Token[],
  i: number,
  gaz: Gazetteer,
  out: Finding[],
): void {
  const t = tokens[i]!;
  if (t.lower.length < 3 || gaz.common.has(t.lower) || /\d/.test(t.text)) return;
  if (t.text !== t.lower) return;
  if (gaz.countries.has(t.lower)) {
    out.push({ type: "LOCATION", start: t.start, end: t.end, score: 0.6 });
    return;
  }
  if (!gaz.firstNames.has(t.lower) || gaz.cities.has(t.lower)) return;
  const prev = tokens[i - 1];
  if (prev && !prev.title && !prev.caps && gaz.firstNames.has(prev.lower) && joined(t)) return;
  let end = t.end;
  let score = 0.4;
  const next = tokens[i + 1];
  if (next && joined(next) && next.text === next.lower && !gaz.common.has(next.lower)) {
    end = next.end;
    score += 0.15;
  }
  const before = text.slice(Math.max(0, t.start - 40), t.start).toLowerCase();
  const after = text.slice(end, end + 30).toLowerCase();
  if (PERSON_STRONG.test(before)) score += 0.3;
  if (PERSON_AFTER.test(after) || PERSON_AFTER_WEAK.test(after)) score += 0.15;
  if (/[:\n]\s*$/.test(before)) score += 0.1;
  out.push({ type: "PERSON", start: t.start, end, score: clamp(score) });
}

/** "Hubbard, Fox and Gillespie": surname lists are law-firm and agency names. */
export function findSurnameFirms(text: string, gaz: Gazetteer, out: Finding[]): void {
  const re = /\b(\p{Lu}\p{Ll}{1,40}), (\p{Lu}\p{Ll}{1,40}),? (?:and|&) (\p{Lu}\p{Ll}{1,40})\b/gu;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const names = [m[1]!, m[2]!, m[3]!].map((s) => s.toLowerCase());
    const known = names.filter((s) => gaz.lastNames.has(s)).length;
    // "Paris, London and Berlin" is a list of places, not a firm.
    if (names.some((s) => gaz.cities.has(s) || gaz.countries.has(s))) continue;
    const end = m.index + m[0].length;
    let score = 0.45 + 0.15 * known;
    if (ORG_AFTER.test(text.slice(end, end + 30).toLowerCase())) score += 0.3;
    if (/\bthe\s*$/i.test(text.slice(Math.max(0, m.index - 8), m.index))) score += 0.1;
    if (score < 0.5) continue;
    score = Math.min(score, 0.85);
    out.push({ type: "ORGANIZATION", start: m.index, end: m.index + m[0].length, score });
  }
}

function clamp(x: number): number {
  return Math.max(0, Math.min(0.99, Number(x.toFixed(3))));
}
