import type { Gazetteer } from "./gazetteer.js";
import type { Token } from "./tokens.js";
import type { Finding } from "./types.js";

const SUFFIX = new Set(
  (
    "road rd street st avenue ave drive dr lane ln place pl boulevard blvd court ct way terrace " +
    "tce crescent cres close square sq highway hwy parkway pkwy circle cir trail alley row walk " +
    "gardens grove mews quay wharf esplanade parade promenade pike plaza loop ridge heights " +
    "view crossing expressway freeway motorway broadway útja utca ulica straat strasse straße " +
    "gasse weg laan vej gata katu"
  ).split(" "),
);
const PREFIX = new Set(
  (
    "rue calle via viale avenida rua chemin piazza ulica ul carrer strada praça largo rambla " +
    "paseo camino allée quai rond-point route πλατεία οδός улица ул проспект náměstí"
  ).split(" "),
);
// Street words written as one compound with the name (Dutch, German, Nordic, Hungarian ...).
const COMPOUND =
  /(?:straat|strasse|straße|gasse|weg|laan|plein|platz|allee|gade|vej|väg|vägen|gatan|gata|katu|utca|útja|ulice|steeg|dreef|kade|singel|gracht|stræde|torget|veien|vegen|ring|damm|ufer|tie)$/;
const UNIT = new Set(["apt", "apartment", "suite", "ste", "unit", "flat", "floor", "fl", "room"]);
const ADDRESS_CONTEXT =
  /(?:address(?: is)?|addresses|lives at|lives on|live at|living at|located at|moved to|return to|returned to|ship to|deliver to|send to|is at|is on)[\s:,]*$/;
const ZIP =
  /\b(?:zip(?: code)?|postal code|postcode|post code)\s{0,3}[:#]?\s{0,3}(\d{5}(?:-\d{4})?|\d{4}|[A-Z]\d[A-Z] ?\d[A-Z]\d)\b/gi;
const UNIT_RE = /\b(?:apt|apartment|suite|ste|unit|flat)\.? ?#?\d{1,5}[A-Za-z]?\b/gi;

// "[1]" is a citation marker (the gateway's answers carry them), never a house number.
const isNum = (t: Token | undefined) =>
  t !== undefined && /^\d{1,6}$/.test(t.text) && !t.gap.endsWith("[");
const sameLine = (t: Token) => !/[\n,;]/.test(t.gap);

/** Street addresses: a street word anchored to a house number, then the city/zip/country tail. */
export function findAddresses(text: string, tokens: Token[], gaz: Gazetteer, out: Finding[]) {
  const claimed = new Uint8Array(tokens.length);
  const emit = (s: number, e: number, score: number) => {
    if (claimed[s] === 1) return;
    const end = extend(text, tokens, e, gaz);
    for (let k = s; k <= end; k++) claimed[k] = 1;
    out.push({ type: "ADDRESS", start: tokens[s]!.start, end: tokens[end]!.end, score });
  };
  for (let k = 0; k < tokens.length; k++) {
    if (claimed[k] === 1) continue;
    const t = tokens[k]!;
    if (SUFFIX.has(t.lower) && k > 0) {
      // "1755 Nelson Mandela Drive": a number at most four words back on the same line.
      for (let b = k - 1; b >= Math.max(0, k - 5); b--) {
        const bt = tokens[b]!;
        if (isNum(bt)) {
          emit(houseStart(tokens, b), k, 0.85);
          break;
        }
        if (!sameLine(tokens[b + 1]!) || gaz.common.has(bt.lower)) {
          if (!bt.title && !bt.caps) break;
        }
        if (!sameLine(tokens[b + 1]!)) break;
      }
      if (claimed[k] !== 1 && (tokens[k - 1]?.title || tokens[k - 1]?.caps) && t.title) {
        out.push({ type: "ADDRESS", start: tokens[k - 1]!.start, end: t.end, score: 0.55 });
      }
      continue;
    }
    if (PREFIX.has(t.lower) && isNum(tokens[k - 1]) && sameLine(t)) {
      let e = k;
      while (
        e + 1 < tokens.length &&
        e - k < 4 &&
        sameLine(tokens[e + 1]!) &&
        !isNum(tokens[e + 1])
      )
        e++;
      emit(houseStart(tokens, k - 1), e, 0.85);
      continue;
    }
    if (
      COMPOUND.test(t.lower) &&
      t.lower.length > 5 &&
      isNum(tokens[k + 1]) &&
      sameLine(tokens[k + 1]!)
    ) {
      const s = isNum(tokens[k - 1]) && sameLine(t) ? houseStart(tokens, k - 1) : k;
      emit(s, k + 1, 0.8);
      continue;
    }
    if (isNum(t) && t.text.length <= 4 && k > 0 && /^, ?$/.test(tokens[k + 1]?.gap ?? "")) {
      // "Jakobi 69, Laane": street name, number, comma, locality (the European order).
      const next = tokens[k + 1]!;
      let s = k;
      while (
        s > 0 &&
        k - s < 3 &&
        sameLine(tokens[s]!) &&
        !isNum(tokens[s - 1]) &&
        !gaz.common.has(tokens[s - 1]!.lower)
      )
        s--;
      const lead = lowerBefore(text, tokens[s]!.start);
      if (
        s < k &&
        (next.title || next.caps) &&
        /(?:\b(?:on|at|in|to|from)\s*|[\n:]\s*|^\s*)$/.test(lead)
      ) {
        emit(isNum(tokens[s - 1]) && sameLine(tokens[s]!) ? s - 1 : s, k, 0.6);
        continue;
      }
    }
    const lineStart = k === 0 || t.gap.includes("\n");
    if (!isNum(t) || t.text.length > 5) continue;
    const context = ADDRESS_CONTEXT.test(lowerBefore(text, t.start));
    if (lineStart || context) {
      // "46 velký průhon 426": number, up to four words, a second number; after address words,
      // or alone on its own line as in a postal block.
      for (let e = k + 1; e < Math.min(tokens.length, k + 6); e++) {
        const et = tokens[e]!;
        if (!sameLine(et) && e > k + 1) break;
        if (isNum(et) && e > k + 1) {
          const eol = e + 1 >= tokens.length || tokens[e + 1]!.gap.includes("\n");
          if (context) emit(houseStart(tokens, k), e, 0.8);
          else if (eol) emit(houseStart(tokens, k), e, 0.65);
          break;
        }
        if (!isNum(et) && et.text === et.lower && gaz.common.has(et.lower)) break;
      }
    }
  }
  for (const re of [ZIP, UNIT_RE]) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const code = m[1];
      const start = code === undefined ? m.index : m.index + m[0].lastIndexOf(code);
      out.push({ type: "ADDRESS", start, end: m.index + m[0].length, score: 0.75 });
    }
  }
}

function lowerBefore(text: string, at: number): string {
  return text.slice(Math.max(0, at - 40), at).toLowerCase();
}

/** Two numbers in a row ("19 1755 Nelson ...") are a building plus a house number. */
function houseStart(tokens: Token[], b: number): number {
  const p = tokens[b - 1];
  return isNum(p) && sameLine(tokens[b]!) ? b - 1 : b;
}

/**
 * Walks on from a street over unit, city, region, postcode and country parts (same line or the
 * next few lines) and stops at ordinary prose.
 */
function extend(text: string, tokens: Token[], e: number, gaz: Gazetteer): number {
  let end = e;
  let lines = 0;
  for (let k = e + 1; k < tokens.length && k - e < 24; k++) {
    const t = tokens[k]!;
    const newline = t.gap.includes("\n");
    if (newline && ++lines > 5) break;
    if (UNIT.has(t.lower)) {
      end = k;
      continue;
    }
    const sentence = !newline && /[.!?]\s/.test(t.gap);
    if (sentence && !UNIT.has(tokens[k - 1]!.lower) && !isNum(tokens[k - 1])) break;
    if (sentence && gaz.common.has(t.lower)) break;
    // Bullets and stray marks at a line start are layout; anywhere else they end the address.
    if (/[^\s,.\n]/.test(t.gap) && !(newline && /^[\s,.\n?•·*|#>-]*$/.test(t.gap))) break;
    if (isNum(t)) {
      const next = tokens[k + 1];
      const alone = !next || /[\n,.]/.test(next.gap) || !/^[ \t]*$/.test(next.gap);
      const afterUnit = UNIT.has(tokens[k - 1]!.lower);
      if (!afterUnit && !alone && t.text.length < 4) break;
      end = k;
      continue;
    }
    if (UNIT.has(t.lower)) {
      end = k;
      continue;
    }
    const plainWord = t.text === t.lower && gaz.common.has(t.lower);
    // A "Mobile:" or "Fax:" label starts the contact lines that follow an address.
    const label = text[t.end] === ":";
    if (plainWord || label) break;
    if (t.text === t.lower && !newline && !/,/.test(t.gap) && gaz.common.has(t.lower)) break;
    end = k;
  }
  return end;
}
