import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { type ImportLimits, parseJsonlImport, parseKeep, parseTrecImport } from "./import-parse.js";

const limits: ImportLimits = { maxInputBytes: 1024 * 1024, maxQueries: 1000, maxJudgments: 10_000 };
const topics = ["1\tfirst query", "2\tsecond query", "", "3\tthird query", "4\tfourth"].join("\n");
const qrels = ["1 0 d1 1", "2 0 d2 2", "3 0 d3 1", "9 0 d9 1"].join("\n");

function failure(fn: () => unknown): { code: Code; message: string } {
  try {
    fn();
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, message: e.rawMessage };
  }
  throw new Error("expected a failure");
}

describe("parseTrecImport", () => {
  it("keeps every topic, and the judgments of the topics it holds", () => {
    const set = parseTrecImport(topics, qrels, "all", limits);
    expect(set.queries.map((q) => q.id)).toEqual(["1", "2", "3", "4"]);
    expect([...set.qrels.keys()]).toEqual(["1", "2", "3"]);
  });

  it("keeps odd or even query ids", () => {
    expect(parseTrecImport(topics, qrels, "odd", limits).queries.map((q) => q.id)).toEqual([
      "1",
      "3",
    ]);
    const even = parseTrecImport(topics, qrels, "even", limits);
    expect(even.queries.map((q) => q.id)).toEqual(["2", "4"]);
    expect([...even.qrels.keys()]).toEqual(["2"]);
    expect(parseKeep("")).toBe("all");
    expect(failure(() => parseKeep("ODD"))).toEqual({
      code: Code.InvalidArgument,
      message: 'keep: must be "odd", "even" or empty',
    });
  });

  it("names the file and line of hostile content, never the content", () => {
    const cases: [string, string, RegExp][] = [
      ["1\tok\n2\tzq7 \u0000 zq7", qrels, /^topics: line 2: query holds a NUL/],
      ["1\tok\n\n3\tzq7 \ud800 zq7", qrels, /^topics: line 3: query holds an unpaired/],
      ["1\tok\nno tab here", qrels, /^topics: line 2: expected qid<TAB>query/],
      ["1\tok\n1\tagain", qrels, /^topics: line 2: duplicate qid/],
      ["1\tok\n2\tzq7 \u0007 zq7", qrels, /^topics: line 2: query holds control character U\+0007/],
      [topics, "1 0 d1 1\n1 0 d1", /^qrels: line 2: expected "qid 0 docid grade"/],
      [topics, "1 0 d1 1\n\n1 0 d2 zq7", /^qrels: line 3: grade must be an integer/],
      [topics, "1 0 d1 1\n1 0 d1 2", /^qrels: line 2: duplicate judgment/],
      [
        `1\tok\n2\t${"zq7".repeat(1667)}x`,
        qrels,
        /^topics: line 2: query is 5002 bytes, over the limit of 4096/,
      ],
    ];
    for (const [t, q, re] of cases) {
      const f = failure(() => parseTrecImport(t, q, "all", limits));
      expect(f.code).toBe(Code.InvalidArgument);
      expect(f.message).toMatch(re);
      expect(f.message).not.toMatch(/zq7/);
    }
  });

  it("needs integer ids to split by parity, naming the line", () => {
    const f = failure(() => parseTrecImport("1\ta\nq2\tb", "", "even", limits));
    expect(f.message).toBe('topics: line 2: keep "even" needs integer query ids; this one is not');
  });

  it("bounds the input and what parsing produces", () => {
    const big = failure(() =>
      parseTrecImport("1\tx".padEnd(2000, "x"), "", "all", { ...limits, maxInputBytes: 1024 }),
    );
    expect(big.message).toBe("topics: is 2000 bytes, over the limit of 1024");
    const many = failure(() => parseTrecImport(topics, qrels, "all", { ...limits, maxQueries: 2 }));
    expect(many.message).toBe("topics: line 4: more than 2 queries");
    expect(failure(() => parseTrecImport("\n\n", "", "all", limits)).message).toBe(
      "topics: holds no queries",
    );
  });
});

describe("parseJsonlImport", () => {
  it("reads the evaluator's JSONL lines", () => {
    const jsonl = [
      JSON.stringify({
        id: "a",
        question: "What?",
        answer: "This.",
        relevant_document_ids: ["d1"],
      }),
      JSON.stringify({ id: "b", question: "Unjudged?" }),
    ].join("\n");
    const set = parseJsonlImport(jsonl, limits);
    expect(set.queries).toEqual([
      { id: "a", text: "What?", answer: "This." },
      { id: "b", text: "Unjudged?" },
    ]);
    expect(set.qrels.get("a")).toEqual(new Map([["d1", 1]]));
  });

  it("names the line and field of a bad line", () => {
    const ok = JSON.stringify({ id: "a", question: "q" });
    expect(failure(() => parseJsonlImport(`${ok}\n{oops`, limits)).message).toBe(
      "jsonl: line 2: not valid JSON",
    );
    expect(
      failure(() =>
        parseJsonlImport(`${ok}\n\n${JSON.stringify({ id: "b", question: 3 })}`, limits),
      ).message,
    ).toMatch(/^jsonl: line 3: \.question: /);
    expect(
      failure(() =>
        parseJsonlImport(
          `${ok}\n${JSON.stringify({ id: "b", question: "q", relevant_document_ids: ["x\u0000"] })}`,
          limits,
        ),
      ).message,
    ).toMatch(/^jsonl: line 2: relevant\[0\] holds a NUL/);
  });
});
