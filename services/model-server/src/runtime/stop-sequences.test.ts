import { describe, expect, it } from "vitest";
import { StopSequenceFilter } from "./stop-sequences.js";

function run(stops: string[], pieces: string[]) {
  const f = new StopSequenceFilter(stops);
  const sent: string[] = [];
  for (const piece of pieces) {
    const out = f.push(piece);
    sent.push(out.text);
    if (out.stopped) return { sent, stopped: true };
  }
  sent.push(f.flush());
  return { sent, stopped: false };
}

describe("StopSequenceFilter", () => {
  it("holds a possible stop prefix and cuts exactly before the stop", () => {
    const { sent, stopped } = run(["END"], ["hello E", "N", "D and more"]);
    expect(stopped).toBe(true);
    expect(sent).toEqual(["hello ", "", ""]);
  });

  it("releases held text that turned out not to be a stop", () => {
    const { sent, stopped } = run(["END"], ["hello E", "NVY", "!"]);
    expect(stopped).toBe(false);
    expect(sent.join("")).toBe("hello ENVY!");
    expect(sent[0]).toBe("hello ");
  });

  it("cuts at the earliest of several stops, inside one piece", () => {
    const { sent, stopped } = run(["\n\n", "###"], ["a ### b\n\nc"]);
    expect(stopped).toBe(true);
    expect(sent).toEqual(["a "]);
  });

  it("passes everything through without stops and flushes a held tail at the end", () => {
    expect(run([], ["a", "b"]).sent.join("")).toBe("ab");
    expect(run(["xyz"], ["abc x"]).sent).toEqual(["abc ", "x"]);
  });
});
