/**
 * Splits Markdown into top-level sections that a CommonMark parser would close anyway, so
 * each can be parsed (or refused) on its own: marked is superlinear in the size of a block,
 * and cutting the body bounds the work any one block can cause.
 *
 * A cut goes before a line that starts at column 0 after a blank line, unless that line could
 * still belong to an open container (list marker, quote, indentation), and before an ATX
 * heading that follows a blank line or another heading. Fenced code and the HTML blocks that
 * may hold blank lines (CommonMark types 1–5) are never cut. When in doubt no cut is made:
 * a missed cut only makes a section larger, never changes how it parses.
 */
export function splitSections(markdown: string): string[] {
  return Array.from(sectionRanges(markdown), ([from, to]) => markdown.slice(from, to));
}

/** The [start, end) offsets of splitSections' sections, without copying them. */
export function* sectionRanges(markdown: string): Generator<[number, number]> {
  let sectionStart = 0;
  let fence: { char: string; length: number } | undefined;
  let htmlEnd: string | undefined;
  let prevBlank = false;
  let prevHeading = false;
  let start = 0;
  while (start < markdown.length) {
    let end = markdown.indexOf("\n", start);
    if (end < 0) end = markdown.length;
    if (fence) {
      if (closesFence(markdown.slice(start, end), fence)) fence = undefined;
      prevBlank = prevHeading = false;
    } else if (htmlEnd !== undefined) {
      if (markdown.slice(start, end).toLowerCase().includes(htmlEnd)) htmlEnd = undefined;
      prevBlank = prevHeading = false;
    } else {
      let first = start;
      while (
        first < end &&
        (markdown.charCodeAt(first) === 0x20 || markdown.charCodeAt(first) === 0x09)
      )
        first++;
      const blank = first === end;
      const c = markdown.charCodeAt(first);
      const heading =
        first === start && c === 0x23 && ATX_HEADING.test(markdown.slice(start, start + 8));
      if (
        start > sectionStart &&
        !blank &&
        ((prevBlank && first === start && startsTopLevel(c)) || (heading && prevHeading))
      ) {
        yield [sectionStart, start];
        sectionStart = start;
      }
      // Only a line whose text starts with ` ~ or < can open a fence or an HTML block.
      if (first - start <= 3 && (c === 0x60 || c === 0x7e || c === 0x3c)) {
        const line = markdown.slice(start, end);
        fence = opensFence(line);
        if (!fence) htmlEnd = opensHtml(line);
      }
      prevBlank = blank;
      prevHeading = heading;
    }
    start = end + 1;
  }
  if (sectionStart < markdown.length) yield [sectionStart, markdown.length];
}

const ATX_HEADING = /^#{1,6}(?:[ \t]|$)/;

// Column 0, not a list marker or quote: no open container can take this line.
function startsTopLevel(c: number): boolean {
  if (c === 0x20 || c === 0x09 || c === 0x3e) return false; // space, tab, >
  if (c === 0x2d || c === 0x2b || c === 0x2a) return false; // - + *
  return !(c >= 0x30 && c <= 0x39);
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;

function opensFence(line: string): { char: string; length: number } | undefined {
  const match = FENCE_OPEN.exec(line);
  if (!match?.[1]) return undefined;
  const char = match[1].charAt(0);
  if (char === "`" && match[2]?.includes("`")) return undefined;
  return { char, length: match[1].length };
}

function closesFence(line: string, fence: { char: string; length: number }): boolean {
  let i = 0;
  while (i < 3 && line.charCodeAt(i) === 0x20) i++;
  let run = 0;
  while (line.charAt(i + run) === fence.char) run++;
  return run >= fence.length && /^[ \t]*$/.test(line.slice(i + run));
}

// HTML blocks that only end at their closing text (CommonMark types 1–5), with that text.
const HTML_OPENERS: readonly [RegExp, string][] = [
  [/^ {0,3}<!--/, "-->"],
  [/^ {0,3}<\?/, "?>"],
  [/^ {0,3}<![A-Za-z]/, ">"],
  [/^ {0,3}<!\[CDATA\[/, "]]>"],
];
const RAW_HTML_OPENER = /^ {0,3}<(script|pre|style|textarea)(?:[\s>]|$)/i;

function opensHtml(line: string): string | undefined {
  if (!/^ {0,3}</.test(line)) return undefined;
  const raw = RAW_HTML_OPENER.exec(line);
  const found: [RegExpExecArray, string] | undefined = raw?.[1]
    ? [raw, `</${raw[1].toLowerCase()}>`]
    : HTML_OPENERS.map(([opener, end]) => [opener.exec(line), end] as const)
        .filter((pair): pair is [RegExpExecArray, string] => pair[0] !== null)
        .at(0);
  if (!found) return undefined;
  const [match, end] = found;
  // Ends on its own line when the closing text follows the opener there.
  return line.slice(match[0].length).toLowerCase().includes(end) ? undefined : end;
}

// Per character: what marked spends on prose. Per markup character and per container marker:
// what it spends on inline constructs and on list items and quotes.
const CHAR_COST = 0.25;
const LINE_COST = 2;
const MARKUP_COST = 8;
const MARKER_COST = 16;
// marked re-reads a list item for each line it adds (lazy lines worst of all), so each line
// of an item costs its line number in that item, times the item's nesting, over this.
const ITEM_LINE_DIVISOR = 8;
const DELIMITER_RUN_DIVISOR = 64;

const MARKUP = new Uint8Array(128);
for (const c of "*_~`[]()<>!|#-+&\\") MARKUP[c.charCodeAt(0)] = 1;
const CONTAINER_PREFIX = /^(?:[ \t]*(?:>|[-+*](?=[ \t]|$)|\d{1,9}[.)](?=[ \t]|$)))+/;
// A marker indented at most one column cannot be nested in another item: a new item starts.
const ITEM_START = /^(?:[ \t]*> ?)* ?(?:[-+*]|\d{1,9}[.)])(?=[ \t]|$)/;

/**
 * A deterministic upper estimate of the work marked does on a section, in units of roughly
 * 0.3 µs at most on the shapes measured (prose costs far less per unit). Linear in the
 * section's markup, quadratic in the lines of a list item.
 */
export function sectionCost(section: string): number {
  let cost = CHAR_COST * section.length;
  let run = 0;
  for (let i = 0; i < section.length; i++) {
    const c = section.charCodeAt(i);
    if (c < 128 && MARKUP[c] === 1) cost += MARKUP_COST;
    // Emphasis delimiter runs are matched against each other: quadratic in the run.
    if (c === 0x2a || c === 0x5f) run++;
    else if (run > 0) {
      cost += (run * run) / DELIMITER_RUN_DIVISOR;
      run = 0;
    }
  }
  cost += (run * run) / DELIMITER_RUN_DIVISOR;
  let itemLines = -1;
  let itemDepth = 0;
  let start = 0;
  while (start < section.length) {
    let end = section.indexOf("\n", start);
    if (end < 0) end = section.length;
    cost += LINE_COST;
    let first = start;
    while (
      first < end &&
      (section.charCodeAt(first) === 0x20 || section.charCodeAt(first) === 0x09)
    )
      first++;
    // Only these can start a container: > - + * and digits.
    const c = section.charCodeAt(first);
    const marked = c === 0x3e || c === 0x2d || c === 0x2b || c === 0x2a || (c >= 0x30 && c <= 0x39);
    const head = marked ? section.slice(start, Math.min(end, start + 512)) : "";
    const prefix = marked ? CONTAINER_PREFIX.exec(head)?.[0] : undefined;
    const markers = prefix ? prefix.replace(/\d{1,9}[.)]/g, "-").replace(/[ \t]/g, "").length : 0;
    cost += MARKER_COST * markers;
    if (marked && ITEM_START.test(head)) {
      itemLines = 0;
      itemDepth = Math.max(1, markers);
    } else if (itemLines >= 0) {
      itemLines++;
      itemDepth = Math.max(itemDepth, markers);
      cost += (itemLines * itemDepth) / ITEM_LINE_DIVISOR;
    }
    start = end + 1;
  }
  return cost;
}
