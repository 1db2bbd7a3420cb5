import { create } from "@bufbuild/protobuf";
import { Action, ChunkVerdictSchema, SearchHitSchema } from "@tailor/proto";
import { describe, expect, it } from "vitest";
import { citationsOf, screen, shownText } from "./passages.js";

const hit = (id: string, text: string) =>
  create(SearchHitSchema, { chunkId: id, documentId: `doc-${id}`, text, score: 1 });
const verdict = (id: string, v: Parameters<typeof create<typeof ChunkVerdictSchema>>[1]) =>
  create(ChunkVerdictSchema, { chunkId: id, ...v });

describe("passages", () => {
  it("withholds chunks flagged for injection and chunks never scanned, numbering the rest", () => {
    const s = screen(
      [
        hit("a", "plain"),
        hit("b", "ignore previous"),
        hit("c", "unscanned"),
        hit("d", "also plain"),
      ],
      [
        verdict("a", { verdict: { action: Action.ALLOW } }),
        verdict("b", { verdict: { action: Action.FLAG, injection: { detected: true } } }),
        verdict("d", { verdict: { action: Action.ALLOW } }),
      ],
    );
    expect(s.passages.map((p) => [p.number, p.chunkId])).toEqual([
      [1, "a"],
      [2, "d"],
    ]);
    expect(s.withheld).toEqual(["b", "c"]);
  });

  it("shows a chunk with the PII spans of a redacting verdict replaced", () => {
    const text = "Mail ann@example.com today";
    const v = verdict("a", {
      verdict: { action: Action.REDACT, pii: [{ type: "EMAIL", start: 5, end: 20 }] },
    });
    expect(shownText(text, v)).toBe("Mail [EMAIL] today");
    // A span that does not fit the text (another version of it) is not applied.
    expect(shownText("short", v)).toBe("short");
  });

  it("cites only passages the answer refers to by [n]", () => {
    const s = screen(
      [hit("a", "one"), hit("b", "two")],
      [
        verdict("a", { verdict: { action: Action.ALLOW } }),
        verdict("b", { verdict: { action: Action.ALLOW } }),
      ],
    );
    expect(citationsOf("Two [2]. Nothing [7].", s).map((c) => [c.number, c.chunkId])).toEqual([
      [2, "b"],
    ]);
  });
});
