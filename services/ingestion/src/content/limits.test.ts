import { describe, expect, it } from "vitest";
import { chunkDocument } from "./chunker.js";
import { ContentLimitError, InvalidContentError, isInvalidContentError } from "./errors.js";
import { extractText } from "./extract.js";
import { DEFAULT_CONTENT_LIMITS } from "./limits.js";
import { markdownDepth } from "./markdown.js";
import type { Block } from "./types.js";

// The shape from the issue: a long key at every one of `depth` levels and a leaf beside it, so
// that each leaf line repeats the whole key path above it.
function keyPathJson(depth: number, keyLength: number): string {
  const key = "k".repeat(keyLength);
  let out = "";
  for (let d = 0; d < depth; d++) out += `{"${key}${d}":${d},"${key}n":`;
  return `${out}1${"}".repeat(depth)}`;
}

// Many tiny leaves under one deep path: each 8-byte leaf expands to the whole path.
function leafFloodJson(depth: number, keyLength: number, bytes: number): string {
  const key = "k".repeat(keyLength);
  const open = Array.from({ length: depth }, (_, d) => `{"${key}${d}":`).join("");
  const leaves: string[] = [];
  for (let i = 0, size = open.length; size < bytes; i++) {
    leaves.push(`"${i}":1`);
    size += 8;
  }
  return `${open}{${leaves.join(",")}}${"}".repeat(depth)}`;
}

function limitError(fn: () => unknown): ContentLimitError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ContentLimitError);
    return err as ContentLimitError;
  }
  throw new Error("expected a ContentLimitError");
}

describe("content limits: application/json", () => {
  it("refuses the issue's 64 KB document of depth 300 at once, naming the limit", () => {
    const body = keyPathJson(300, 100);
    expect(body.length).toBeGreaterThan(60_000);
    const started = performance.now();
    const err = limitError(() => extractText("application/json", body));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(err).toMatchObject({ limit: "maxDepth", value: 64, code: "content_limit" });
    expect(err.message).toBe(
      "invalid application/json content: arrays and objects nested deeper than 64 levels (limit maxDepth=64)",
    );
    // Callers that know only InvalidContentError (RPC, dead-lettering) still recognise it.
    expect(err).toBeInstanceOf(InvalidContentError);
    expect(isInvalidContentError(err)).toBe(true);
  });

  it("counts depth on the raw text, ignoring brackets inside strings", () => {
    const at = (depth: number): string => `${"[".repeat(depth)}"[[{{"${"]".repeat(depth)}`;
    expect(extractText("application/json", at(64)).blocks).toHaveLength(1);
    expect(limitError(() => extractText("application/json", at(65))).limit).toBe("maxDepth");
    expect(extractText("application/json", at(65), { maxDepth: 65 }).blocks).toHaveLength(1);
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expect(limitError(() => extractText("application/json", deep)).limit).toBe("maxDepth");
  });

  it("refuses an over-long key, counted in UTF-8 bytes, without quoting it", () => {
    const ok = { ["é".repeat(512)]: 1 }; // 1,024 bytes
    expect(extractText("application/json", JSON.stringify(ok)).blocks).toHaveLength(1);
    const long = { a: { ["é".repeat(513)]: "secret" } };
    const err = limitError(() => extractText("application/json", JSON.stringify(long)));
    expect(err).toMatchObject({ limit: "maxJsonKeyBytes", value: 1024 });
    expect(err.message).toContain("an object key at a is longer than 1024 bytes");
    expect(err.message).not.toContain("é");
  });

  it("stops a document that would expand to gigabytes as soon as the budget is spent", () => {
    // Within depth and key limits: 60 keys of 1,000 bytes, then ~120k leaves that would each
    // print the 60 KB path (about 7 GB). Building that first would crash the process.
    const body = leafFloodJson(60, 1000, 1024 * 1024);
    const started = performance.now();
    const err = limitError(() => extractText("application/json", body));
    expect(performance.now() - started).toBeLessThan(5000);
    expect(err).toMatchObject({ limit: "maxExpansion", value: 16 });
    expect(err.message).toMatch(/extracted text passes \d+ bytes, 16 times the body/);
  });

  it("bounds the expansion of a small body by 16 x 64 KiB and of any body by maxExtractedBytes", () => {
    // ~120 KB of keys expanding to ~1.9 MB: 15.7 times, within the defaults.
    expect(extractText("application/json", keyPathJson(60, 1000)).blocks).toHaveLength(61);
    const small = leafFloodJson(10, 1000, 20_000); // 10 KB path on each of ~1,200 leaves
    expect(limitError(() => extractText("application/json", small)).limit).toBe("maxExpansion");
    const capped = limitError(() =>
      extractText("application/json", small, { maxExtractedBytes: 100_000 }),
    );
    expect(capped).toMatchObject({ limit: "maxExtractedBytes", value: 100_000 });
    expect(capped.message).toContain("extracted text passes 100000 bytes");
  });

  it("says where JSON is malformed without repeating the body", () => {
    const err = (() => {
      try {
        extractText("application/json", '{"ssn": "078-05-1120" oops}');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(InvalidContentError);
    expect(err?.message).toMatch(/^invalid application\/json content: not valid JSON/);
    expect(err?.message).not.toContain("078-05-1120");
  });
});

describe("content limits: HTML and Markdown", () => {
  it("refuses HTML lists, tables and quotes nested deeper than maxDepth", () => {
    const lists = `${"<ul>".repeat(10_000)}<li>x`;
    expect(limitError(() => extractText("text/html", lists)).message).toContain(
      "lists nested deeper than 64 levels (limit maxDepth=64)",
    );
    const tables = `${"<table><tr><td>".repeat(65)}x`;
    expect(limitError(() => extractText("text/html", tables)).limit).toBe("maxDepth");
    const quotes = `${"<blockquote>".repeat(65)}x`;
    expect(limitError(() => extractText("text/html", quotes)).limit).toBe("maxDepth");
    expect(extractText("text/html", `${"<ul>".repeat(64)}<li>x`).blocks).toEqual([
      { kind: "list", text: `${"  ".repeat(63)}x` },
    ]);
  });

  it("counts list indentation against the budget while parsing", () => {
    // Every 5-byte <li> becomes a 127-byte line: 25 times the body.
    const body = `${"<ul>".repeat(64)}${"<li>x".repeat(200_000)}`;
    const err = limitError(() => extractText("text/html", body));
    expect(err.limit).toBe("maxExpansion");
  });

  it("estimates Markdown container depth from each line's markers and indentation", () => {
    expect(markdownDepth("- a\n  - b\n    - c\n")).toBe(3);
    expect(markdownDepth("> > > x\n- - y")).toBe(3);
    expect(markdownDepth("1. a\n   1. b")).toBe(2);
    expect(markdownDepth("plain\n\n```\n" + " ".repeat(400) + "code\n```")).toBe(0);
    expect(markdownDepth("-5 degrees\n*emphasis*")).toBe(0);
  });

  it("refuses deeply nested Markdown before marked runs out of memory or stack", () => {
    // 9 MB of nested list items used to take marked past a 4 GB heap.
    const lists = Array.from({ length: 3000 }, (_, i) => `${"  ".repeat(i)}- item ${i}`).join("\n");
    const err = limitError(() => extractText("text/markdown", lists));
    expect(err.message).toBe(
      "invalid text/markdown content: quotes and lists nested deeper than 64 levels (limit maxDepth=64)",
    );
    const quotes = `${"> ".repeat(20_000)}x`;
    expect(limitError(() => extractText("text/markdown", quotes)).limit).toBe("maxDepth");
    const ok = Array.from({ length: 64 }, (_, i) => `${"  ".repeat(i)}- item ${i}`).join("\n");
    expect(extractText("text/markdown", ok).blocks).toHaveLength(1);
  });

  it("reports inline nesting that exhausts marked's stack as invalid content", () => {
    const body = `${"*".repeat(30_000)}a${"*".repeat(30_000)}`;
    expect(() => extractText("text/markdown", body)).toThrow(InvalidContentError);
  }, 30_000);

  it("decodes character references with the entities package", () => {
    const md = "AT&amp;T &copy; caf&eacute; &#x1F600; &#128512; &#xD800; &notanentity; &amp no";
    expect(extractText("text/markdown", md).blocks).toEqual([
      { kind: "paragraph", text: "AT&T © café 😀 😀 \ufffd &notanentity; &amp no" },
    ]);
  });
});

describe("content limits: chunks", () => {
  const doc = (n: number): { blocks: Block[]; consumed: () => number } => {
    const all: Block[] = Array.from({ length: n }, (_, i) => ({
      kind: "paragraph",
      text: `Paragraph ${i} has a handful of words in it.`,
    }));
    let consumed = 0;
    const blocks = Object.assign([...all], {
      *[Symbol.iterator]() {
        for (const b of all) {
          consumed++;
          yield b;
        }
      },
    });
    return { blocks, consumed: () => consumed };
  };

  it("allows exactly maxChunks and refuses one more, naming the limit", () => {
    const opts = { maxTokens: 16, overlapTokens: 0 };
    const exact = chunkDocument(doc(10), "", { ...opts, maxChunks: 10 });
    expect(exact).toHaveLength(10);
    const err = limitError(() => chunkDocument(doc(11), "", { ...opts, maxChunks: 10 }));
    expect(err).toMatchObject({ limit: "maxChunks", value: 10 });
    expect(err.message).toBe(
      "invalid content: the document needs more than 10 chunks (limit maxChunks=10)",
    );
  });

  it("stops reading blocks once the limit is passed", () => {
    const d = doc(100_000);
    limitError(() => chunkDocument(d, "", { maxTokens: 16, overlapTokens: 0, maxChunks: 5 }));
    expect(d.consumed()).toBeGreaterThan(5);
    expect(d.consumed()).toBeLessThan(10);
  });

  it("defaults to 20,000 chunks", () => {
    expect(DEFAULT_CONTENT_LIMITS.maxChunks).toBe(20_000);
    const err = limitError(() =>
      chunkDocument(doc(20_001), "", { maxTokens: 16, overlapTokens: 0 }),
    );
    expect(err.value).toBe(20_000);
  });
});
