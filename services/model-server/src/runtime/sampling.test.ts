import { describe, expect, it } from "vitest";
import { GenerationParamsError, normalizeGenerationParams, TokenSampler } from "./sampling.js";

const base = normalizeGenerationParams({}, { maxTokens: 8 });

describe("TokenSampler", () => {
  it("is greedy at temperature 0 and applies the repetition penalty first", () => {
    const s = new TokenSampler({ ...base, repetitionPenalty: 4 }, 4, 1);
    expect(s.sample(Float32Array.from([1, 3, 2, 0]))).toBe(1);
    s.observe([1]);
    // 3 / 4 = 0.75 < 2: the seen token loses.
    expect(s.sample(Float32Array.from([1, 3, 2, 0]))).toBe(2);
  });

  it("samples only from the top-k and the nucleus", () => {
    const logits = [5, 4.9, 1, 0, -1, -2];
    const counts = (params: Partial<typeof base>) => {
      const s = new TokenSampler({ ...base, temperature: 1, ...params }, logits.length, 7);
      const seen = new Set<number>();
      for (let i = 0; i < 500; i++) seen.add(s.sample(Float32Array.from(logits)));
      return seen;
    };
    expect(counts({ topK: 2 })).toEqual(new Set([0, 1]));
    expect(counts({ topP: 0.5 })).toEqual(new Set([0]));
    expect(counts({}).size).toBeGreaterThan(2);
  });

  it("reproduces draws from a seed", () => {
    const draw = (seed: number) => {
      const s = new TokenSampler({ ...base, temperature: 1.5 }, 50, seed);
      return Array.from({ length: 30 }, (_, i) =>
        s.sample(Float32Array.from({ length: 50 }, (_, j) => Math.sin(i * 7 + j))),
      );
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
  });

  it("rejects out-of-range parameters", () => {
    const bad = [{ maxTokens: 0 }, { temperature: -1 }, { topP: 0 }, { topK: 1.5 }];
    for (const p of bad) {
      expect(() => normalizeGenerationParams(p, { maxTokens: 8 })).toThrow(GenerationParamsError);
    }
  });
});
