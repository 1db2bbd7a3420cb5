import { describe, expect, it } from "vitest";
import { InvalidContentError } from "./errors.js";
import { extractText } from "./extract.js";
import { OutputBudget, resolveLimits } from "./limits.js";
import {
  extractMarkdownSections,
  MAX_DELIMITER_RUN,
  MAX_PARSE_COST,
  MAX_SECTION_CHARS,
} from "./markdown.js";
import { sectionCost, splitSections } from "./markdown-sections.js";

const MB = 1024 * 1024;
const fill = (unit: string, bytes: number): string => unit.repeat(Math.ceil(bytes / unit.length));
// Cuts a shape into pieces that fit the section cap, so the parse budget is what bounds it.
const pieces = (shape: (bytes: number) => string, bytes: number): string =>
  fill(`${shape(12_000).slice(0, 12_000)}\n\nplain words\n\n`, bytes);

const extract = (markdown: string) =>
  extractMarkdownSections(
    markdown,
    new OutputBudget("text/markdown", Buffer.byteLength(markdown), resolveLimits()),
  );

// marked spends seconds to minutes on these at 2–10 MB; each must reach marked only within
// the per-section cap and the per-document parse budget.
const hostile: [string, () => string][] = [
  ["dense nested list markers", () => fill(`${"- ".repeat(60)}x\n`, 10 * MB)],
  ["dense lists cut into sections", () => pieces((n) => fill("- - - x\n", n), 10 * MB)],
  ["lazy lines in a nested list item", () => pieces((n) => `- - a\n${fill("b\n", n)}`, 4 * MB)],
  ["emphasis delimiter runs", () => fill(`${"*".repeat(1000)}a${"*".repeat(1000)}\n`, 4 * MB)],
  [
    "emphasis runs cut into sections",
    () => pieces((n) => fill(`${"*".repeat(900)}a\n`, n), 4 * MB),
  ],
  ["deep quotes", () => fill(`${"> ".repeat(60)}x\n`, 4 * MB)],
  ["quotes of lists", () => pieces((n) => fill(`${"> - ".repeat(30)}x\n`, n), 4 * MB)],
  ["unclosed links and images", () => fill("[a](![", 2 * MB)],
  ["reference link chains", () => `${fill("[a][b]", 2 * MB)}\n\n[b]: /u\n`],
  ["GFM autolinks with bracket runs", () => fill(`http://a.com/${"(".repeat(50)}`, 2 * MB)],
  ["thousands of headings", () => fill("# h\n", 10 * MB)],
  [
    "wide tables",
    () =>
      pieces(
        (n) => `${"|a".repeat(500)}|\n${"|-".repeat(500)}|\n${fill(`${"|a".repeat(500)}|\n`, n)}`,
        4 * MB,
      ),
  ],
];

describe("extractMarkdown: hostile bodies", () => {
  it.each(hostile)(
    "%s: parses within the section cap and the parse budget",
    (_name, build) => {
      const body = build();
      const { blocks, stats } = extract(body);
      expect(blocks.length).toBeGreaterThan(0);
      expect(stats.largestParsed).toBeLessThanOrEqual(MAX_SECTION_CHARS);
      expect(stats.parseCost).toBeLessThanOrEqual(MAX_PARSE_COST);
      // The body is large enough that the budget, not the body, ends parsing.
      expect(stats.plainSections).toBeGreaterThan(0);
      expect(stats.parsedChars).toBeLessThan(body.length);
    },
    60_000,
  );

  it("keeps all the text of sections extracted as plain text", () => {
    const body = fill("# h\n", 4 * MB);
    const text = extract(body)
      .blocks.map((b) => b.text)
      .join("\n");
    expect(text.split("h").length - 1).toBe(body.split("h").length - 1);
  });

  it("refuses emphasis delimiter runs longer than the limit", () => {
    const body = `${"_".repeat(MAX_DELIMITER_RUN + 1)}a`;
    expect(() => extractText("text/markdown", body)).toThrow(InvalidContentError);
    expect(extractText("text/markdown", `${"*".repeat(80)}`).blocks).toHaveLength(0);
  });

  it("charges list items quadratically in their lines", () => {
    const lazy = `- a\n${"b\n".repeat(4000)}`;
    const items = "- a\n".repeat(4000);
    expect(sectionCost(lazy)).toBeGreaterThan(5 * sectionCost(items));
    expect(sectionCost(lazy)).toBeGreaterThan(MAX_PARSE_COST / 4);
  });
});

describe("splitSections", () => {
  it("cuts only where every container is closed", () => {
    expect(splitSections("# a\n# b\n\npara\n\nnext\n")).toEqual([
      "# a\n",
      "# b\n\n",
      "para\n\n",
      "next\n",
    ]);
    // List continuation, indented code, quotes and fenced code with blank lines stay whole.
    const whole = [
      "1. one\n\n   para\n2. two\n",
      "- a\n\n- b\n",
      "    code\n\n    more\n",
      "> a\n\n> b\n",
      "```\na\n\nb\n```\n",
      "<pre>\na\n\nb\n</pre>\n",
      "<!--\na\n\nb\n-->\n",
    ];
    for (const md of whole) expect(splitSections(md)).toEqual([md]);
    expect(splitSections("```\na\n```\n\nb\n")).toEqual(["```\na\n```\n\n", "b\n"]);
  });
});
