import { describe, expect, it } from "vitest";
import { InvalidContentError, UnsupportedContentTypeError } from "./errors.js";
import { extractText } from "./extract.js";

const texts = (contentType: string, body: string): string[] =>
  extractText(contentType, body).blocks.map((b) => b.text);

describe("extractText: text/plain", () => {
  it("splits paragraphs on blank lines and is the default for an empty type", () => {
    const body = "\ufeffFirst para\nstill first.\r\n\r\n  \nSecond para.\n\n\n";
    const expected = [
      { kind: "paragraph", text: "First para\nstill first." },
      { kind: "paragraph", text: "Second para." },
    ];
    expect(extractText("text/plain", body).blocks).toEqual(expected);
    expect(extractText("", body).blocks).toEqual(expected);
    expect(extractText("TEXT/Plain; charset=UTF-8", body).blocks).toEqual(expected);
  });
});

describe("extractText: text/markdown", () => {
  it("walks headings, paragraphs, lists, code, tables and quotes as plain text", () => {
    const md = [
      "# Guide to *Tailor*",
      "",
      "Read the [docs](https://example.com) and **bold** `code()` AT&amp;T \\*not em\\*.",
      "",
      "## Install",
      "",
      "- first [item](x)",
      "  - nested *item*",
      "- second",
      "",
      "```ts",
      "const a = 1 < 2; // [not a link](y)",
      "",
      "console.log(a);",
      "```",
      "",
      "| Name | Value |",
      "| ---- | ----- |",
      "| *a*  | 1     |",
      "",
      "> Quoted **text**",
      "> more.",
      "",
      "![diagram](d.png)",
      "",
      "---",
      "",
      "<div>raw <b>html</b><script>x()</script></div>",
    ].join("\n");
    expect(extractText("text/markdown; charset=utf-8", md).blocks).toEqual([
      { kind: "heading", text: "Guide to Tailor", level: 1 },
      { kind: "paragraph", text: "Read the docs and bold code() AT&T *not em*." },
      { kind: "heading", text: "Install", level: 2 },
      { kind: "list", text: "first item\n  nested item\nsecond" },
      { kind: "code", text: "const a = 1 < 2; // [not a link](y)\n\nconsole.log(a);" },
      { kind: "table", text: "Name | Value\na | 1" },
      { kind: "quote", text: "Quoted text\nmore." },
      { kind: "paragraph", text: "diagram" },
      { kind: "paragraph", text: "raw html" },
    ]);
  });

  it("handles loose ordered lists with several paragraphs per item", () => {
    const md = "1. one\n\n   para\n2. two\n";
    expect(texts("text/markdown", md)).toEqual(["one para\ntwo"]);
  });
});

describe("extractText: text/html", () => {
  it("drops non-content elements even when scripts contain markup in strings", () => {
    const html = `<!doctype html><html><head><title>T</title><style>p{color:red}</style>
      <script>var s = "</p><p>evil"; if (a < b) {}</script></head>
      <body><noscript><p>enable js</p></noscript><template><p>tpl</p></template>
      <p>Visible &amp; decoded &lt;tag&gt; &nbsp;&#x263A; &copy;</p></body></html>`;
    expect(texts("text/html", html)).toEqual([
      "Visible & decoded <tag> \u00a0☺ ©".replace(/\s+/g, " "),
    ]);
  });

  it("recovers from unclosed tags and splits on block elements", () => {
    const html = "<div>intro<p>one<p>two <b>bold <i>both</b> tail<br>after br<section>sec</div>";
    expect(texts("text/html", html)).toEqual([
      "intro",
      "one",
      "two bold both tail",
      "after br",
      "sec",
    ]);
  });

  it("gives headings levels, keeps pre whitespace and collapses elsewhere", () => {
    const html =
      "<h2>  Big\n  Title </h2><pre>\n  indented\n    more</pre><p>a\n\n   b</p><blockquote>q <p>q2</p></blockquote>";
    expect(extractText("text/html", html).blocks).toEqual([
      { kind: "heading", text: "Big Title", level: 2 },
      { kind: "code", text: "  indented\n    more" },
      { kind: "paragraph", text: "a b" },
      { kind: "quote", text: "q" },
      { kind: "quote", text: "q2" },
    ]);
  });

  it("renders nested lists and tables", () => {
    const html = `<ul><li>one<ul><li>one.a<li>one.b</ul><li>two<p>more</p></ul>
      <table><tr><th>Name<th>Qty</tr><tr><td>apple<td>3<tr><td>pear</td><td><table><tr><td>x</td></tr></table></td></tr></table>
      <ol><li>unclosed`;
    expect(extractText("text/html", html).blocks).toEqual([
      { kind: "list", text: "one\n  one.a\n  one.b\ntwo\nmore" },
      { kind: "table", text: "Name | Qty\napple | 3\npear | x" },
      { kind: "list", text: "unclosed" },
    ]);
  });

  it("accepts xhtml and empty bodies", () => {
    expect(texts("application/xhtml+xml", "<p>x</p>")).toEqual(["x"]);
    expect(texts("text/html", "")).toEqual([]);
  });
});

describe("extractText: application/json", () => {
  it("flattens nested keys with dots and indexes arrays", () => {
    const body = JSON.stringify({
      title: "Hello",
      meta: { author: { name: "Ann" }, tags: ["a", "b"], empty: {}, none: [] },
      count: 3,
      ok: true,
      missing: null,
      body: "Line one.\n\nLine two.",
    });
    expect(texts("application/json; charset=utf-8", body)).toEqual([
      "title: Hello",
      "meta.author.name: Ann",
      "meta.tags[0]: a",
      "meta.tags[1]: b",
      "meta.empty: {}",
      "meta.none: []",
      "count: 3",
      "ok: true",
      "missing: null",
      "body: Line one.\n\nLine two.",
    ]);
  });

  it("handles top-level arrays and scalars, and +json types", () => {
    expect(texts("application/json", '[{"a":1},"x"]')).toEqual(["[0].a: 1", "[1]: x"]);
    expect(texts("application/json", '"just text"')).toEqual(["just text"]);
    expect(texts("application/ld+json", '{"@type":"Thing"}')).toEqual(["@type: Thing"]);
  });

  it("reports absurdly deep nesting as invalid content", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expect(() => extractText("application/json", deep)).toThrow(InvalidContentError);
  });

  it("rejects invalid JSON with InvalidContentError", () => {
    expect(() => extractText("application/json", "{nope")).toThrow(InvalidContentError);
    try {
      extractText("application/json", "{nope");
    } catch (err) {
      expect(err).toMatchObject({ name: "InvalidContentError", code: "invalid_content" });
      expect((err as Error).cause).toBeInstanceOf(SyntaxError);
    }
  });
});

describe("extractText: unsupported types", () => {
  it("throws UnsupportedContentTypeError naming the type", () => {
    expect(() => extractText("application/pdf", "%PDF")).toThrow(UnsupportedContentTypeError);
    try {
      extractText("Image/PNG; q=1", "");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(UnsupportedContentTypeError);
      expect(err).toMatchObject({
        name: "UnsupportedContentTypeError",
        code: "unsupported_content_type",
      });
      expect((err as Error).message).toContain("Image/PNG; q=1");
    }
  });
});
