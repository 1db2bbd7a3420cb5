import { mulberry32 } from "@tailor/models";
import { describe, expect, it } from "vitest";
import { chunkDocument } from "./chunker.js";
import { InvalidChunkOptionsError } from "./errors.js";
import { extractText } from "./extract.js";
import { countTokens, splitSentences } from "./tokens.js";
import type { Block, ChunkText, ExtractedDocument } from "./types.js";

// Seeded so that a failing random document can be reproduced.
const rng = mulberry32;

const VOCAB = [
  "the",
  "ingestion",
  "service",
  "splits",
  "documents",
  "into",
  "chunks",
  "e.g.",
  "Dr.",
  "3.14",
  "vector",
  "embedding",
  "naïve",
  "日本語",
  "🙂",
  "x",
  "internationalization",
  "(quoted)",
  '"hello"',
  "well...",
  "re-ranking",
  "and",
  "of",
  "to",
];

function randomDoc(seed: number, blockCount: number): ExtractedDocument {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const sentence = (): string => {
    const n = 1 + Math.floor(r() * (r() < 0.05 ? 400 : 25));
    const words = Array.from({ length: n }, () => pick(VOCAB));
    return `${words.join(" ")}${pick([".", "!", "?", "."])}`;
  };
  const blocks: Block[] = [];
  for (let i = 0; i < blockCount; i++) {
    const roll = r();
    if (roll < 0.15) {
      blocks.push({ kind: "heading", text: `Heading ${i}`, level: 1 + Math.floor(r() * 3) });
    } else if (roll < 0.25) {
      const items = Array.from({ length: 1 + Math.floor(r() * 30) }, () => sentence());
      blocks.push({ kind: "list", text: items.join("\n") });
    } else if (roll < 0.32) {
      const lines = Array.from(
        { length: 1 + Math.floor(r() * 40) },
        (_, j) => `  line_${j}(${j});`,
      );
      blocks.push({ kind: "code", text: lines.join("\n") });
    } else if (roll < 0.35) {
      // Whitespace-free blobs force character-level splits.
      const blob = Array.from({ length: 200 + Math.floor(r() * 5000) }, () =>
        pick(["A", "b", "9", "+", "/", "é", "語"]),
      ).join("");
      blocks.push({ kind: "paragraph", text: `blob: ${blob}` });
    } else {
      const sentences = Array.from({ length: 1 + Math.floor(r() * 20) }, () => sentence());
      blocks.push({ kind: r() < 0.1 ? "quote" : "paragraph", text: sentences.join(" ") });
    }
  }
  return { blocks };
}

function checkInvariants(chunks: ChunkText[], maxTokens: number): void {
  chunks.forEach((chunk, i) => {
    expect(chunk.index).toBe(i);
    expect(chunk.text.trim().length).toBeGreaterThan(0);
    expect(chunk.tokenCount).toBe(countTokens(chunk.text));
    expect(chunk.tokenCount).toBeLessThanOrEqual(maxTokens);
  });
}

const numbered = (from: number, to: number): string =>
  Array.from({ length: to - from }, (_, i) => `Sentence number ${from + i} covers a topic.`).join(
    " ",
  );

describe("chunkDocument", () => {
  it("packs whole blocks while they fit and carries the heading path", () => {
    const doc = extractText(
      "text/markdown",
      "# Intro\n\nAlpha one. Alpha two.\n\nBeta.\n\n## Details\n\nGamma.",
    );
    const chunks = chunkDocument(doc, "My Doc", { maxTokens: 256, overlapTokens: 32 });
    expect(chunks).toEqual([
      {
        index: 0,
        text: "Intro\n\nAlpha one. Alpha two.\n\nBeta.\n\nDetails\n\nGamma.",
        tokenCount: countTokens("Intro Alpha one. Alpha two. Beta. Details Gamma."),
        heading: "My Doc > Intro",
      },
    ]);
  });

  it("uses defaults, omits the heading when there is no title or heading, and handles empty docs", () => {
    expect(chunkDocument({ blocks: [] }, "T")).toEqual([]);
    expect(chunkDocument({ blocks: [{ kind: "paragraph", text: "   " }] }, "T")).toEqual([]);
    const [only] = chunkDocument({ blocks: [{ kind: "paragraph", text: "Hi." }] }, "");
    expect(only).toEqual({ index: 0, text: "Hi.", tokenCount: 2 });
    const headingOnly = chunkDocument(
      { blocks: [{ kind: "heading", text: "Lonely", level: 1 }] },
      "",
    );
    expect(headingOnly.map((c) => c.text)).toEqual(["Lonely"]);
  });

  it("splits big blocks at sentences and overlaps by whole trailing sentences", () => {
    const doc: ExtractedDocument = { blocks: [{ kind: "paragraph", text: numbered(0, 60) }] };
    const overlapTokens = 20;
    const chunks = chunkDocument(doc, "T", { maxTokens: 50, overlapTokens });
    checkInvariants(chunks, 50);
    expect(chunks.length).toBeGreaterThan(5);
    const source = splitSentences(numbered(0, 60));
    const seen: string[] = [];
    for (const [i, chunk] of chunks.entries()) {
      const sentences = splitSentences(chunk.text);
      let overlap = 0;
      if (i > 0) {
        const prev = splitSentences(chunks[i - 1]?.text ?? "");
        while (overlap < sentences.length && seen.includes(sentences[overlap] ?? "")) overlap++;
        expect(overlap).toBeGreaterThan(0);
        // The repeated sentences are exactly the previous chunk's tail, within budget.
        expect(prev.slice(prev.length - overlap)).toEqual(sentences.slice(0, overlap));
        expect(countTokens(sentences.slice(0, overlap).join(" "))).toBeLessThanOrEqual(
          overlapTokens,
        );
      }
      seen.push(...sentences.slice(overlap));
    }
    expect(seen).toEqual(source);
  });

  it("does not overlap when overlapTokens is 0 or across a new section", () => {
    const text = numbered(0, 30);
    const none = chunkDocument({ blocks: [{ kind: "paragraph", text }] }, "", {
      maxTokens: 40,
      overlapTokens: 0,
    });
    expect(none.map((c) => c.text).join(" ")).toBe(text);

    const doc: ExtractedDocument = {
      blocks: [
        { kind: "heading", text: "A", level: 1 },
        { kind: "paragraph", text: numbered(0, 8) },
        { kind: "heading", text: "B", level: 2 },
        { kind: "paragraph", text: numbered(8, 12) },
      ],
    };
    const chunks = chunkDocument(doc, "", { maxTokens: 64, overlapTokens: 16 });
    checkInvariants(chunks, 64);
    const last = chunks.at(-1);
    expect(last?.text.startsWith("B\n\nSentence number 8")).toBe(true);
    expect(last?.heading).toBe("A > B");
  });

  it("keeps headings with the content that follows them", () => {
    const doc: ExtractedDocument = {
      blocks: [
        { kind: "paragraph", text: numbered(0, 5) },
        { kind: "heading", text: "Next", level: 1 },
        { kind: "heading", text: "Sub", level: 2 },
        { kind: "paragraph", text: numbered(5, 20) },
      ],
    };
    for (const maxTokens of [12, 20, 45, 60, 90]) {
      const chunks = chunkDocument(doc, "", { maxTokens, overlapTokens: 4 });
      checkInvariants(chunks, maxTokens);
      for (const chunk of chunks) {
        expect(chunk.text.endsWith("Next")).toBe(false);
        expect(chunk.text.endsWith("Sub")).toBe(false);
      }
      const sub = chunks.find((c) => c.text.includes("Sub"));
      expect(sub?.text).toMatch(/Sub\n\nSentence number 5 /);
    }
  });

  it("splits an over-long sentence at words and an over-long word at characters", () => {
    const words = Array.from({ length: 300 }, (_, i) => `w${i}`);
    const blob = "x".repeat(5000);
    const doc: ExtractedDocument = {
      blocks: [
        { kind: "paragraph", text: words.join(" ") },
        { kind: "code", text: blob },
      ],
    };
    const chunks = chunkDocument(doc, "", { maxTokens: 32, overlapTokens: 0 });
    checkInvariants(chunks, 32);
    const all = chunks.map((c) => c.text).join(" ");
    expect(all.split(/\s+/).slice(0, 300)).toEqual(words);
    expect(all.split(/\s+/).slice(300).join("")).toBe(blob);
  });

  it("tops up chunks below minTokens from the next block", () => {
    // Each numbered sentence costs 11 tokens; the paragraph fits a chunk only on its own.
    const doc: ExtractedDocument = {
      blocks: [
        { kind: "paragraph", text: "Tiny." },
        { kind: "paragraph", text: numbered(0, 4) },
        { kind: "paragraph", text: "End." },
      ],
    };
    const loose = chunkDocument(doc, "", { maxTokens: 44, overlapTokens: 0 });
    expect(loose.map((c) => c.text)).toEqual(["Tiny.", numbered(0, 4), "End."]);
    const tight = chunkDocument(doc, "", { maxTokens: 44, overlapTokens: 0, minTokens: 10 });
    checkInvariants(tight, 44);
    expect(tight.map((c) => c.text)).toEqual([
      `Tiny.\n\n${numbered(0, 3)}`,
      `${numbered(3, 4)}\n\nEnd.`,
    ]);
  });

  it("rejects out-of-range options", () => {
    const doc: ExtractedDocument = { blocks: [{ kind: "paragraph", text: "x" }] };
    expect(() => chunkDocument(doc, "", { maxTokens: 0 })).toThrow(InvalidChunkOptionsError);
    expect(() => chunkDocument(doc, "", { maxTokens: 10, overlapTokens: 10 })).toThrow(
      InvalidChunkOptionsError,
    );
    expect(() => chunkDocument(doc, "", { maxTokens: 10, minTokens: 11 })).toThrow(
      InvalidChunkOptionsError,
    );
    expect(() => chunkDocument(doc, "", { maxTokens: 1.5 })).toThrow(InvalidChunkOptionsError);
  });

  it("never exceeds maxTokens on large random documents and is deterministic", () => {
    for (const [seed, blocks, maxTokens, overlapTokens] of [
      [1, 300, 256, 32],
      [2, 200, 64, 16],
      [3, 100, 16, 4],
      [4, 20, 1, 0],
      [5, 300, 512, 128],
      [6, 100, 7, 6],
    ] as const) {
      const doc = randomDoc(seed, blocks);
      const chunks = chunkDocument(doc, "Random", { maxTokens, overlapTokens, minTokens: 0 });
      checkInvariants(chunks, maxTokens);
      expect(chunkDocument(doc, "Random", { maxTokens, overlapTokens })).toEqual(chunks);
      const endsWithHeading = doc.blocks.at(-1)?.kind === "heading";
      for (const chunk of endsWithHeading ? chunks.slice(0, -1) : chunks) {
        // Heading lines of a wide-enough chunk always come with some content.
        if (maxTokens >= 16) expect(chunk.text).not.toMatch(/^(Heading \d+\s*)+$/);
      }
      const blocksTokens = doc.blocks.reduce((n, b) => n + countTokens(b.text), 0);
      const chunkTokens = chunks.reduce((n, c) => n + c.tokenCount, 0);
      // Nothing is dropped; only overlap (and the odd piece split) adds tokens.
      expect(chunkTokens).toBeGreaterThanOrEqual(blocksTokens);
    }
  });

  it("chunks a 1 MB document correctly", () => {
    const doc = randomDoc(42, 3000);
    let size = doc.blocks.reduce((n, b) => n + b.text.length, 0);
    const r = rng(7);
    while (size < 1_000_000) {
      const text = `${numbered(Math.floor(r() * 1000), 1000 + Math.floor(r() * 40))}`;
      doc.blocks.push({ kind: "paragraph", text });
      size += text.length;
    }
    const chunks = chunkDocument(doc, "Big", { maxTokens: 256, overlapTokens: 32 });
    checkInvariants(chunks, 256);
    expect(chunks.length).toBeGreaterThan(1000);
  });
});
