import { describe, expect, it } from "vitest";
import { ground, sentences } from "./grounding.js";
import { checkPattern } from "./pattern.js";

describe("custom entity patterns", () => {
  it("accepts a plain entity pattern", () => {
    expect(checkPattern("p", "EMP-[0-9]{6}").test("id EMP-123456")).toBe(true);
    expect(() => checkPattern("p", "(?:ab)+c\\\\1")).not.toThrow();
  });

  it.each([
    ["(a)\\1", /backreference/],
    ["(?<x>a)\\k<x>", /backreference/],
    ["(?<=a)b", /lookbehind/],
    ["(a+)+$", /nests quantifiers/],
    ["((ab)*c)*", /nests quantifiers/],
    ["(x|[a-z]+){2,}", /nests quantifiers/],
    ["a".repeat(257), /over the limit of 256/],
    ["(", /not a valid/],
    ["a*", /empty string/],
    ["", /required/],
  ])("refuses %s naming the field", (pattern, why) => {
    expect(() => checkPattern("policy.custom_entities[0].pattern", pattern)).toThrow(why);
    expect(() => checkPattern("policy.custom_entities[0].pattern", pattern)).toThrow(
      /^policy\.custom_entities\[0\]\.pattern: /,
    );
  });
});

describe("grounding", () => {
  it("splits sentences with UTF-16 spans", () => {
    const t = "Hi 😀 there. Second one!\nThird line? v1.2 stays";
    expect(sentences(t).map((s) => t.slice(s.start, s.end))).toEqual([
      "Hi 😀 there.",
      "Second one!",
      "Third line?",
      "v1.2 stays",
    ]);
  });

  it("scores support by the best passage's share of the sentence's content words", () => {
    const r = ground(
      "Refunds take five business days. Yes.",
      ["Shipping is free.", "Refunds are processed within five business days."],
      0.5,
    );
    expect(r[0]).toMatchObject({ supported: true, bestContext: 1 });
    // refund, five, business, day of refund, take, five, business, day.
    expect(r[0]!.support).toBeCloseTo(0.8);
    // A sentence that claims nothing needs no support.
    expect(r[1]).toMatchObject({ supported: true, support: 1 });
    expect(ground("Cats are mammals.", [], 0.5)[0]).toMatchObject({ supported: false, support: 0 });
  });
});
