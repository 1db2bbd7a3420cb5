import { beforeAll, describe, expect, it } from "vitest";
import { detectPii } from "./detect.js";
import { type Gazetteer, loadGazetteer } from "./gazetteer.js";
import { redact } from "./redact.js";
import type { Finding } from "./types.js";

let gaz: Gazetteer;
beforeAll(async () => {
  gaz = await loadGazetteer();
}, 30_000);

const spans = (text: string, found: Finding[]) =>
  found.map((f) => [f.type, text.slice(f.start, f.end)]);

describe("detectPii", () => {
  it("never takes a citation marker for a house number", () => {
    for (const text of [
      "The permit is renewed every spring [1].",
      "Ships dock at the north quay [2] and the Hauptstrasse [3].",
    ])
      expect(detectPii(text, gaz).filter((f) => f.type === "ADDRESS")).toEqual([]);
    // A real house number still counts.
    expect(detectPii("She lives at 12 Spring Road [1].", gaz).map((f) => f.type)).toContain(
      "ADDRESS",
    );
  });

  it("finds structured identifiers with exact spans", () => {
    const text =
      "Mail jane.doe@example.co.uk, call +1 (415) 555-0132, card 4111 1111 1111 1111, " +
      "IBAN DE89 3704 0044 0532 0130 00, SSN 531-21-7351, from 10.0.0.254 and 2001:db8::1, " +
      "see https://example.org/a?b=1. Born on 1986-12-27.";
    const got = spans(text, detectPii(text, gaz));
    expect(got).toEqual(
      expect.arrayContaining([
        ["EMAIL", "jane.doe@example.co.uk"],
        ["PHONE", "+1 (415) 555-0132"],
        ["CREDIT_CARD", "4111 1111 1111 1111"],
        ["IBAN", "DE89 3704 0044 0532 0130 00"],
        ["US_SSN", "531-21-7351"],
        ["IP_ADDRESS", "10.0.0.254"],
        ["IP_ADDRESS", "2001:db8::1"],
        ["URL", "https://example.org/a?b=1"],
        ["DATE", "1986-12-27"],
      ]),
    );
  });

  it("rejects numbers that fail their checksum or structure", () => {
    const text =
      "order 4111111111111112, ssn 666-12-3456, ip 300.1.1.1, iban DE89370400440532013001";
    const types = detectPii(text, gaz).map((f) => f.type);
    expect(types).not.toContain("CREDIT_CARD");
    expect(types).not.toContain("US_SSN");
    expect(types).not.toContain("IP_ADDRESS");
    expect(types).not.toContain("IBAN");
  });

  it("finds names, organisations, places and street addresses from context", () => {
    const text =
      "My name is Patricia Jeknić and I work for Northwind Traders Ltd. " +
      "Mr. Fernandez grew up in Monroe. Ship it to 1755 Nelson Mandela Drive, Cape Town, South Africa.";
    const got = spans(text, detectPii(text, gaz));
    expect(got).toEqual(
      expect.arrayContaining([
        ["PERSON", "Patricia Jeknić"],
        ["ORGANIZATION", "Northwind Traders Ltd."],
        ["PERSON", "Fernandez"],
        ["LOCATION", "Monroe"],
      ]),
    );
    const address = got.find(([t]) => t === "ADDRESS");
    expect(address?.[1]).toMatch(/^1755 Nelson Mandela Drive, Cape Town, South Africa/);
  });

  it("does not take capitalised common words for names", () => {
    const text = "Capitalized words like Wisdom and Discipline are often mistaken with names.";
    expect(detectPii(text, gaz)).toEqual([]);
  });

  it("keeps UTF-16 offsets valid after astral characters", () => {
    const text = "😀😀 write to a@b.io 😀";
    const [f] = detectPii(text, gaz);
    expect(f).toBeDefined();
    expect(text.slice(f!.start, f!.end)).toBe("a@b.io");
    expect(f!.start).toBe(14);
  });

  it("applies tenant thresholds, allowlist, type filter and custom patterns", () => {
    const text = "Ticket ZX-12345 from support@acme.io about Main Street; call 555-0100 now";
    const found = detectPii(text, gaz, {
      customPatterns: [{ name: "TICKET", pattern: "ZX-\\d{5}" }],
      allowlist: ["support@acme.io"],
      thresholds: { PHONE: 0.99 },
    });
    expect(spans(text, found)).toEqual(expect.arrayContaining([["TICKET", "ZX-12345"]]));
    expect(found.map((f) => f.type)).not.toContain("EMAIL");
    expect(found.map((f) => f.type)).not.toContain("PHONE");
    const onlyTickets = detectPii(text, gaz, {
      types: ["TICKET"],
      customPatterns: [{ name: "TICKET", pattern: /zx-\d{5}/i }],
    });
    expect(onlyTickets.map((f) => f.type)).toEqual(["TICKET"]);
  });

  it("ignores an invalid custom pattern instead of throwing", () => {
    expect(() =>
      detectPii("x", gaz, { customPatterns: [{ name: "BAD", pattern: "(" }] }),
    ).not.toThrow();
  });

  it("returns non-overlapping findings sorted by start", () => {
    const text = "Email john.smith@example.com or visit http://www.example.com/john.smith today";
    const found = detectPii(text, gaz);
    for (let i = 1; i < found.length; i++)
      expect(found[i]!.start).toBeGreaterThanOrEqual(found[i - 1]!.end);
  });
});

describe("redact", () => {
  it("replaces spans with type placeholders", () => {
    const text = "Write to jane@example.com or call 415-555-0132.";
    expect(redact(text, detectPii(text, gaz))).toBe("Write to [EMAIL] or call [PHONE].");
  });

  it("clips overlapping and out-of-range spans", () => {
    const f = (type: string, start: number, end: number) => ({ type, start, end, score: 1 });
    expect(redact("abcdef", [f("A", 1, 3), f("B", 2, 5), f("C", 4, 99), f("D", 3, 3)])).toBe(
      "a[A][B][C]",
    );
    expect(redact("abc", [])).toBe("abc");
  });
});
