import { detectPii, type Gazetteer, loadGazetteer, redact } from "@tailor/guard";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { WindowVerdict } from "../types.js";
import { StreamCheck, type WindowCheck } from "./stream-check.js";

let gaz: Gazetteer;
beforeAll(async () => {
  gaz = await loadGazetteer();
}, 60_000);

/** A real check: redacts e-mail addresses and card numbers with the guard's own detector. */
const piiCheck: WindowCheck = async (text) => {
  const findings = detectPii(text, gaz, { types: ["EMAIL", "CREDIT_CARD"] });
  return findings.length > 0
    ? { text: redact(text, findings), action: "redact" }
    : { text, action: "allow" };
};

const allow: WindowCheck = async (text) => ({ text, action: "allow" });

/** Feeds `pieces` one by one; returns what was released per call and the checker. */
async function stream(check: WindowCheck, holdBack: number, pieces: readonly string[]) {
  const sc = new StreamCheck(check, holdBack);
  const released: string[] = [];
  let maxPending = 0;
  for (const p of pieces) {
    released.push(await sc.push(p));
    maxPending = Math.max(maxPending, sc.pending);
  }
  released.push(await sc.finish());
  return { sc, released, text: released.join(""), maxPending };
}

/** `text` cut at the given positions (sorted, deduplicated, inside the text). */
function cutAt(text: string, cuts: readonly number[]): string[] {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(text.slice(prev, c));
    prev = c;
  }
  out.push(text.slice(prev));
  return out.filter((p) => p !== "");
}

const WORDS = ["the", "policy", "covers", "Travel", "refunds", "within", "days", "and", "we", "ok"];
const EMAILS = ["jane.doe@example.com", "ops+alerts@mail.tailor.io", "x_y@corp.example.org"];
const CARDS = ["4111 1111 1111 1111", "5500-0000-0000-0004", "4012888888881881"];
const PII = [...EMAILS, ...CARDS];

/** Benign words and sentence ends with PII strings among them. */
const answerArb = fc
  .array(
    fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...WORDS) },
      { weight: 1, arbitrary: fc.constantFrom(". The", "! We", "? And", ".\nAlso") },
      { weight: 2, arbitrary: fc.constantFrom(...PII) },
    ),
    { minLength: 1, maxLength: 120 },
  )
  .map((tokens) => `${tokens.join(" ")}.`);

describe("StreamCheck", () => {
  it("releases exactly the input, in order, when the check allows everything", async () => {
    await fc.assert(
      fc.asyncProperty(
        answerArb,
        fc.array(fc.nat(), { maxLength: 60 }),
        fc.integer({ min: 0, max: 300 }),
        async (answer, cuts, holdBack) => {
          const r = await stream(allow, holdBack, cutAt(answer, cuts));
          expect(r.text).toBe(answer);
          expect(r.sc.sent).toBe(answer);
          expect(r.sc.action).toBe("allow");
          expect(r.sc.stopped).toBe(false);
          expect(r.sc.pending).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("never lets a PII string split across deltas through; sends what the check allows", async () => {
    await fc.assert(
      fc.asyncProperty(
        answerArb,
        fc.array(fc.nat(), { maxLength: 80 }),
        // The tail (holdBack / 2) must hold the longest PII string (26 characters).
        fc.integer({ min: 56, max: 400 }),
        async (answer, cuts, holdBack) => {
          const r = await stream(piiCheck, holdBack, cutAt(answer, cuts));
          for (const p of PII) expect(r.text).not.toContain(p);
          // The digits of a card are never sent in a shorter run either.
          expect(r.text).not.toMatch(/\d{5}/);
          expect(r.text).toBe((await piiCheck(answer)).text);
          expect(r.sc.sent).toBe(r.text);
          if (PII.some((p) => answer.includes(p))) expect(r.sc.action).toBe("redact");
          // Bounded hold-back: never more than window + tail + one delta held.
          expect(r.maxPending).toBeLessThanOrEqual(holdBack + Math.floor(holdBack / 2) + 1);
        },
      ),
      { numRuns: Number(process.env.RUNS ?? 300) },
    );
  });

  it("one character at a time, an e-mail address is redacted and text still streams", async () => {
    const answer =
      "Your ticket is open. Write to jane.doe@example.com with the number. We answer within two days.";
    const { released, text, sc } = await stream(piiCheck, 40, [...answer]);
    expect(text).toBe(
      "Your ticket is open. Write to [EMAIL] with the number. We answer within two days.",
    );
    // Released before the end: the first sentence was sent while later text was still coming.
    const firstAt = released.findIndex((r) => r.includes("Your ticket is open."));
    expect(firstAt).toBeGreaterThan(0);
    expect(firstAt).toBeLessThan(answer.indexOf("jane"));
    expect(sc.checks).toBeGreaterThan(1);
  });

  it("cuts a sentence with no boundary within the hold-back and keeps the tail for the next check", async () => {
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");
    const seen: string[] = [];
    const check: WindowCheck = async (t) => {
      seen.push(t);
      return { text: t, action: "allow" };
    };
    const sc = new StreamCheck(check, 50);
    let out = "";
    for (const w of words.split(/(?<= )/)) {
      out += await sc.push(w);
      expect(sc.pending).toBeLessThanOrEqual(75 + 8);
    }
    expect(out.length).toBeGreaterThan(words.length / 2);
    out += await sc.finish();
    expect(out).toBe(words);
    // Consecutive windows overlap: the tail held back from one is checked again in the next.
    for (let i = 1; i < seen.length - 1; i++) expect(seen[i - 1]).toContain(seen[i]!.slice(0, 12));
    expect(Math.max(...seen.map((t) => t.length))).toBeLessThanOrEqual(75 + 8);
  });

  it("stops at a blocked window: nothing of it or after it is sent", async () => {
    const check: WindowCheck = async (t) =>
      t.includes("forbidden")
        ? { text: "", action: "block" }
        : {
            text: t.replace("secret", "[REDACTED]"),
            action: t.includes("secret") ? "redact" : "allow",
          };
    const pieces = [
      "The first part is fine. ",
      "A secret is here. ",
      "Then forb",
      "idden words. ",
      "More.",
    ];
    const sc = new StreamCheck(check, 30);
    let text = "";
    for (const p of pieces) text += await sc.push(p);
    expect(sc.stopped).toBe(true);
    expect(sc.action).toBe("block");
    expect(text).toBe(sc.sent);
    expect(text.startsWith("The first part is fine.")).toBe(true);
    expect(text).not.toContain("secret");
    expect(text).not.toContain("forb");
    expect(text).not.toContain("More");
    expect(await sc.push("even more")).toBe("");
    expect(await sc.finish()).toBe("");
    expect(sc.pending).toBe(0);
    expect(sc.sent).toBe(text);
  });

  it("sends a flagged window and reports flag; a check that removes a sentence is honoured", async () => {
    const check: WindowCheck = async (t) => ({
      text: t.replace(/Unsupported claim[^.]*\. ?/g, ""),
      action: t.includes("Unsupported") ? "flag" : "allow",
    });
    const answer = "Paris is the capital [1]. Unsupported claim about Mars. Lyon is a city [2].";
    const { text, sc } = await stream(check, 40, cutAt(answer, [3, 9, 27, 33, 50, 61]));
    expect(text).toBe("Paris is the capital [1]. Lyon is a city [2].");
    expect(sc.action).toBe("flag");
  });

  it("fails closed when the check fails", async () => {
    let calls = 0;
    const check: WindowCheck = async (t) => {
      calls++;
      if (calls === 2) throw new Error("guard unavailable");
      return { text: t, action: "allow" } satisfies WindowVerdict;
    };
    const sc = new StreamCheck(check, 20);
    expect(await sc.push("One sentence here. ")).toBe("");
    // The first window passes and is sent; the second check fails after it.
    const first = await sc.push("Two more. Three");
    expect(first).toBe("One sentence here. ");
    await expect(sc.push(" sentences go on and on and on.")).rejects.toThrow("guard unavailable");
    await expect(sc.finish()).rejects.toThrow("guard unavailable");
    expect(sc.sent).toBe(first);
    expect(calls).toBe(2);
  });

  it("holds 1 MB of text without a boundary in bounded windows", async () => {
    const big = "a".repeat(1024 * 1024);
    let longest = 0;
    const check: WindowCheck = async (t) => {
      longest = Math.max(longest, t.length);
      return { text: t, action: "allow" };
    };
    const sc = new StreamCheck(check, 4000);
    const started = Date.now();
    const out = (await sc.push(big)) + (await sc.finish());
    expect(out).toBe(big);
    expect(longest).toBeLessThanOrEqual(6000);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
