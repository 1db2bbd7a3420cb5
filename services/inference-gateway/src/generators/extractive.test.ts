import { create } from "@bufbuild/protobuf";
import { GeneratorSpecSchema } from "@tailor/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { GenerateInput, Passage } from "../types.js";
import { extractiveGenerator } from "./extractive.js";
import { NO_ANSWER } from "./prompt.js";
import { runGenerator } from "./testing.js";
import { cleanText } from "./text.js";
import { estimateTokens } from "./tokens.js";

const spec = (over: Record<string, unknown> = {}) =>
  create(GeneratorSpecSchema, { kind: "extractive", ...over });

function passage(number: number, text: string, title = `Doc ${number}`): Passage {
  return {
    number,
    chunkId: `c${number}`,
    documentId: `d${number}`,
    source: "s",
    title,
    text,
    score: 1 / number,
  };
}

function input(
  question: string,
  passages: Passage[],
  over: Partial<GenerateInput> = {},
): GenerateInput {
  return { question, history: [], passages, maxTokens: 0, ...over };
}

const run = (gen = extractiveGenerator(spec(), "generator@v1"), req: GenerateInput) =>
  runGenerator(gen, req);

/** Each sentence of an answer: text, then one ` [n]` marker, then closing punctuation. */
const CITED = /^(.*?) \[(\d+)\]([.!?…]+["'”’»)\]]*)$/s;

/** Checks every delta is one sentence citing a given passage whose text holds it. */
function expectGrounded(deltas: readonly string[], passages: readonly Passage[]) {
  expect(deltas.length).toBeGreaterThan(0);
  for (const [i, d] of deltas.entries()) {
    const sentence = i === 0 ? d : d.replace(/^ /, "");
    expect(i === 0 || d.startsWith(" ")).toBe(true);
    const m = CITED.exec(sentence);
    expect(m, sentence).not.toBeNull();
    const [, body, n, end] = m!;
    expect(body).not.toMatch(/\[\d+\]/);
    const p = passages.find((x) => x.number === Number(n));
    expect(p, `cites [${n}]`).toBeDefined();
    // The quoted words come from that passage (as cleaned for quoting).
    const words = `${body}${end}`.replace(/…$/, "");
    expect(cleanText(p!.text)).toContain(words.replace(/[.!?…"'”’»)\]]+$/, ""));
  }
}

const PASSAGES = [
  passage(
    1,
    "Tailor keeps one index per tenant. Refunds are paid within 14 days of a cancelled booking. " +
      "The office is closed on Sundays.",
  ),
  passage(
    2,
    "How long do refunds take?\n\nA refund for a cancelled booking is paid to the original card " +
      "within 14 days. Travel insurance is sold separately.",
  ),
  passage(3, "Refunds are paid within 14 days of a cancelled booking."),
];

describe("extractive generator", () => {
  it("quotes the best-supporting sentences, best first, each with its passage's marker", async () => {
    const { deltas, text, result } = await run(
      undefined,
      input("How long do refunds take for a cancelled booking?", PASSAGES),
    );
    expectGrounded(deltas, PASSAGES);
    expect(deltas.length).toBeLessThanOrEqual(3);
    expect(deltas[0]).toMatch(/^(Refunds are paid|A refund for a cancelled booking)/);
    // The FAQ's own question and off-topic sentences are not quoted.
    expect(text).not.toContain("How long do refunds take?");
    expect(text).not.toContain("Sundays");
    // The same sentence in passages 1 and 3 is quoted once.
    expect(text.split("Refunds are paid within 14 days").length).toBeLessThanOrEqual(2);
    expect(result).toEqual({
      promptTokens:
        estimateTokens("How long do refunds take for a cancelled booking?") +
        Math.ceil(PASSAGES.reduce((n, p) => n + p.text.length, 0) / 4),
      completionTokens: estimateTokens(text),
      finishReason: "stop",
    });
  });

  it("honours max_sentences and max tokens", async () => {
    const one = await run(
      extractiveGenerator(spec({ maxSentences: 1 }), "generator@v2"),
      input("refund cancelled booking card", PASSAGES),
    );
    expect(one.deltas).toHaveLength(1);
    const short = await run(
      undefined,
      input("refund cancelled booking card", PASSAGES, { maxTokens: 8 }),
    );
    expect(short.result.finishReason).toBe("length");
    expect(short.result.completionTokens).toBeLessThanOrEqual(8);
    expectGrounded(short.deltas, PASSAGES);
    expect(short.text).toMatch(/… \[\d\]\.$/);
  });

  it("answers with what a section says, not with its heading that restates the question", async () => {
    const section = passage(
      1,
      "What happens to a malformed event\n\nA malformed event is moved to the dead-letter stream with the reason, and the pipeline goes on.",
    );
    const r = await run(undefined, input("What happens to a malformed event?", [section]));
    expect(r.deltas[0]).toMatch(/^A malformed event is moved to the dead-letter stream/);
    // Also when the answer shares no word with the question.
    const terse = passage(
      1,
      "What happens to a malformed event\n\nThe consumer dead-letters it at once.",
    );
    const t = await run(undefined, input("What happens to a malformed event?", [terse]));
    expect(t.deltas).toEqual(["The consumer dead-letters it at once [1]."]);
  });

  it("answers that no passage answers when there are none or none overlaps", async () => {
    for (const passages of [[], [passage(1, "Completely unrelated prose about gardening.")]]) {
      const r = await run(undefined, input("What is the refund window?", passages));
      expect(r.text).toBe(NO_ANSWER);
      expect(r.text).not.toMatch(/\[\d+\]/);
      expect(r.result.finishReason).toBe("stop");
    }
  });

  it("uses the previous user turn for a follow-up", async () => {
    const passages = [
      passage(1, "Lyon has a population of 522,000. Lyon is known for its cuisine."),
      passage(2, "Paris has a population of 2.1 million. Paris hosts the Louvre."),
    ];
    const r = await run(
      undefined,
      input("And its population?", passages, {
        history: [
          { role: "user", content: "Tell me about Lyon" },
          { role: "assistant", content: "Lyon is a city in France [1]." },
        ],
      }),
    );
    expect(r.deltas[0]).toMatch(/^Lyon has a population of 522,000 \[1\]\.$/);
  });

  it("keeps hostile passage text out: controls, bidi, forged markers, NUL, lone surrogates", async () => {
    const hostile = passage(
      2,
      "Refunds\u0000 are\u202e paid [7] within\u0007 14 days\ud800.\n# Heading refunds\n- refunds list item",
    );
    const r = await run(
      undefined,
      input("refunds paid days", [passage(1, "Nothing here."), hostile]),
    );
    expectGrounded(r.deltas, [hostile]);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting none got through
    expect(r.text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(r.text).not.toMatch(/[\ud800-\udfff]/);
    expect(r.text).not.toContain("[7]");
    expect(r.deltas[0]).toBe("Refunds are paid within 14 days [2].");
  });

  it("every sentence is cited with a valid marker on any input", async () => {
    const text = fc.string({ unit: "binary", maxLength: 400 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(text, { minLength: 1, maxLength: 5 }),
        fc.string({ maxLength: 80 }),
        fc.integer({ min: 0, max: 200 }),
        async (texts, question, maxTokens) => {
          const passages = texts.map((t, i) => passage(i + 1, t));
          const r = await run(undefined, input(`${question} refund`, passages, { maxTokens }));
          if (r.text === NO_ANSWER) return;
          for (const [i, d] of r.deltas.entries()) {
            const m = CITED.exec(i === 0 ? d : d.slice(1));
            expect(m, d).not.toBeNull();
            expect(Number(m![2])).toBeGreaterThanOrEqual(1);
            expect(Number(m![2])).toBeLessThanOrEqual(passages.length);
            expect(m![1]).not.toMatch(/\[\d+\]/);
          }
          expect(r.result.completionTokens).toBe(estimateTokens(r.text));
          if (maxTokens > 0) expect(r.result.completionTokens).toBeLessThanOrEqual(maxTokens);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("answers over a 1 MB passage in bounded time", async () => {
    const filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(18_000);
    const big = passage(1, `${filler}Refunds are paid within 14 days.`);
    const oneLine = passage(2, "refund ".repeat(150_000));
    const started = performance.now();
    const r = await run(undefined, input("refunds paid", [big, oneLine, ...PASSAGES]));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(big.text.length).toBeGreaterThan(1_000_000);
    expect(r.deltas.length).toBeGreaterThan(0);
    for (const d of r.deltas) expect(d.length).toBeLessThan(520);
  });

  it("stops when the signal is aborted", async () => {
    const ac = new AbortController();
    const gen = extractiveGenerator(spec(), "generator@v1").generate(
      input("refunds cancelled booking", PASSAGES, { signal: ac.signal }),
    );
    await gen.next();
    ac.abort();
    await expect(gen.next()).rejects.toMatchObject({ code: 1 });
  });
});
