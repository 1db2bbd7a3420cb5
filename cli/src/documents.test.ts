import { describe, expect, it } from "vitest";
import { documentVersion } from "./document-version.js";
import { parseLine } from "./documents.js";

describe("parseLine: one JSONL line, or why it is not a document", () => {
  it("reads a document, a numeric id and metadata values of any JSON type", () => {
    expect(parseLine('{"id":7,"title":"T","text":"x","metadata":{"a":"b","n":2}}')).toEqual({
      id: "7",
      title: "T",
      text: "x",
      contentType: "text/plain",
      metadata: { a: "b", n: "2" },
    });
  });

  it.each([
    ["{not json", "not valid JSON"],
    ["[1,2]", "not a JSON object"],
    ['{"title":"no id"}', '"id" is required'],
    ['{"id":""}', '"id" is required'],
    ['{"id":"a\\u0001b"}', '"id" holds'],
    ['{"id":"a","text":5}', '"text" must be a string'],
    ['{"id":"a","text":"nul \\u0000 here"}', '"text" holds'],
    ['{"id":"a","title":"lone \\ud800"}', '"title" holds'],
    ['{"id":"a","metadata":[1]}', '"metadata" must be an object'],
    ['{"id":"a","metadata":{"k\\u0007":"v"}}', 'a "metadata" key holds'],
  ])("%s → %s", (line, problem) => {
    const r = parseLine(line);
    expect(typeof r).toBe("string");
    expect(r).toContain(problem);
  });

  it("never quotes the line in its problem", () => {
    const r = parseLine('{"id":"secret-value","text":"\\u0000"}');
    expect(r).not.toContain("secret-value");
  });

  it("the version ignores metadata order and defaults the content type", () => {
    const a = documentVersion({ id: "x", text: "t", metadata: { a: "1", b: "2" } });
    const b = documentVersion({
      id: "x",
      text: "t",
      contentType: "text/plain",
      metadata: { b: "2", a: "1" },
    });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(documentVersion({ id: "x", text: "u" })).not.toBe(a);
  });
});
