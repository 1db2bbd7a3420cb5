import { describe, expect, it } from "vitest";
import {
  EvalSetParseError,
  judgedQueries,
  parseQrels,
  parseTopics,
  trecEvalSet,
} from "./eval-set.js";

describe("parseTopics", () => {
  it("reads qid<TAB>query lines, skipping blank lines, CRLF and a BOM", () => {
    const got = parseTopics("\uFEFF1\tfirst query\r\n\n 2 \t second\there \n", "t.tsv");
    expect(got).toEqual([
      { id: "1", text: "first query" },
      { id: "2", text: "second\there" },
    ]);
  });

  it("names the file and line of a bad line, never its text", () => {
    const bad = (text: string) => {
      try {
        parseTopics(text, "topics.tsv");
      } catch (err) {
        expect(err).toBeInstanceOf(EvalSetParseError);
        return (err as Error).message;
      }
      throw new Error("no error");
    };
    expect(bad("1\tok\nno tab here")).toBe("topics.tsv:2: expected qid<TAB>query");
    expect(bad("\tquery")).toBe("topics.tsv:1: expected qid<TAB>query");
    expect(bad("1\ta\n\n1\tb")).toBe("topics.tsv:3: duplicate qid");
    expect(bad("1\t   ")).toBe("topics.tsv:1: query is required");
    expect(bad("1\tsecret\u0000text")).toMatch(/^topics\.tsv:1: query holds a NUL character/);
    expect(bad("1\tlone \ud800")).toMatch(/^topics\.tsv:1: query holds an unpaired UTF-16/);
    expect(bad("a\u0007b\tq")).toMatch(/^topics\.tsv:1: qid holds control character U\+0007/);
    expect(bad("1\tsecret\u0000text")).not.toContain("secret");
    expect(bad("a b\tq")).toBe("topics.tsv:1: qid holds whitespace");
  });

  it("bounds what it produces", () => {
    expect(() => parseTopics("1\ta\n2\tb\n3\tc", "t", { maxQueries: 2 })).toThrow(
      "t:3: more than 2 queries",
    );
    expect(() => parseTopics(`1\t${"x".repeat(70_000)}`, "t")).toThrow(/over the limit/);
  });
});

describe("parseQrels", () => {
  it("reads qid iteration docid grade, keeping grades", () => {
    const q = parseQrels("1 0 d1 1\n1 0 d2 0\n\n2\t0\td9\t3\n3 Q0 d1 -1\n", "q.txt");
    expect([...q.keys()]).toEqual(["1", "2", "3"]);
    expect(q.get("1")).toEqual(
      new Map([
        ["d1", 1],
        ["d2", 0],
      ]),
    );
    expect(q.get("2")?.get("d9")).toBe(3);
    expect(q.get("3")?.get("d1")).toBe(-1);
  });

  it("names the file and line of a bad line", () => {
    expect(() => parseQrels("1 0 d1 1\n1 0 d1", "q.txt")).toThrow(
      'q.txt:2: expected "qid 0 docid grade", got 3 fields',
    );
    expect(() => parseQrels("1 0 d1 0.5", "q.txt")).toThrow("q.txt:1: grade must be an integer");
    expect(() => parseQrels("1 0 d1 1\n1 0 d1 2", "q.txt")).toThrow("q.txt:2: duplicate judgment");
    expect(() => parseQrels("1 0 d\u0001 1", "q.txt")).toThrow(/^q\.txt:1: docid holds control/);
    expect(() => parseQrels("1 0 a 1\n1 0 b 1", "q", { maxJudgments: 1 })).toThrow(
      "q:2: more than 1 judgments",
    );
  });
});

describe("trecEvalSet", () => {
  it("keeps every topic, and drops (and reports) judgments of unknown topics", () => {
    const { set, droppedQrelsQueries } = trecEvalSet(
      { text: "1\tone\n2\ttwo\n3\tthree\n", file: "t" },
      { text: "1 0 a 1\n3 0 b 2\n9 0 c 1\n", file: "q" },
    );
    expect(set.queries.map((q) => q.id)).toEqual(["1", "2", "3"]);
    expect([...set.qrels.keys()]).toEqual(["1", "3"]);
    expect(droppedQrelsQueries).toEqual(["9"]);
    expect(judgedQueries(set).map((q) => q.id)).toEqual(["1", "3"]);
  });
});
