import { describe, expect, it } from "vitest";
import { parseQaJsonl } from "./qa-jsonl.js";

describe("parseQaJsonl", () => {
  it("reads questions, answers and graded relevant documents", () => {
    const text = [
      JSON.stringify({
        id: "q1",
        question: " What is X? ",
        answer: "X is Y.",
        relevant: ["d1", { id: "d2", grade: 2 }],
      }),
      "",
      JSON.stringify({ id: "q2", question: "Unjudged?" }),
    ].join("\n");
    const set = parseQaJsonl(text, "qa.jsonl");
    expect(set.queries).toEqual([
      { id: "q1", text: "What is X?", answer: "X is Y." },
      { id: "q2", text: "Unjudged?" },
    ]);
    expect(set.qrels).toEqual(
      new Map([
        [
          "q1",
          new Map([
            ["d1", 1],
            ["d2", 2],
          ]),
        ],
      ]),
    );
  });

  it("names the file, line and field of a bad line", () => {
    const ok = JSON.stringify({ id: "a", question: "q", relevant: ["d"] });
    const bad = (line: string) => () => parseQaJsonl(`${ok}\n${line}`, "qa.jsonl");
    expect(bad("{not json")).toThrow("qa.jsonl:2: not valid JSON");
    expect(bad('{"id":"b"}')).toThrow(/^qa\.jsonl:2: \.question: /);
    expect(bad('{"id":"b","question":"q","relevent":["d"]}')).toThrow(
      /^qa\.jsonl:2: line: .*relevent/,
    );
    expect(bad('{"id":"b","question":"q","relevant":[{"id":"d","grade":1.5}]}')).toThrow(
      /^qa\.jsonl:2: \.relevant\[0\]/,
    );
    expect(bad(ok)).toThrow("qa.jsonl:2: duplicate id");
    expect(bad('{"id":"b","question":"q","relevant":["d","d"]}')).toThrow(
      "qa.jsonl:2: relevant[1]: duplicate id",
    );
    expect(bad('{"id":"b","question":"bad \\ud800"}')).toThrow(
      /^qa\.jsonl:2: question holds an unpaired/,
    );
    expect(bad('{"id":"b\\u0000","question":"q"}')).toThrow(/^qa\.jsonl:2: id holds a NUL/);
    expect(bad("[1,2]")).toThrow(/^qa\.jsonl:2: line: /);
  });

  it("takes relevant_document_ids (the evaluator API's name) as bare ids", () => {
    const line = { id: "q", question: "x", answer: "y", relevant_document_ids: ["d1", "d2"] };
    const set = parseQaJsonl(JSON.stringify(line), "f");
    expect(set.qrels.get("q")).toEqual(
      new Map([
        ["d1", 1],
        ["d2", 1],
      ]),
    );
    const both = { ...line, relevant: ["d3"] };
    expect(() => parseQaJsonl(JSON.stringify(both), "f")).toThrow("f:1: give relevant or");
    const bad = { ...line, relevant_document_ids: ["ok", "bad\u0000"] };
    expect(() => parseQaJsonl(JSON.stringify(bad), "f")).toThrow(/^f:1: relevant\[1\] holds a NUL/);
  });

  it("bounds what it produces", () => {
    const lines = ["a", "b", "c"].map((id) => JSON.stringify({ id, question: "q" })).join("\n");
    expect(() => parseQaJsonl(lines, "f", { maxQueries: 2 })).toThrow("f:3: more than 2 queries");
  });
});
