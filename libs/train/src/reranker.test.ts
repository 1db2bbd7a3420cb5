import { mulberry32 } from "@tailor/models/random";
import { describe, expect, it } from "vitest";
import {
  ndcg10,
  type RankingQuery,
  RerankerDataError,
  scoreLinearRanker,
  trainLinearRanker,
} from "./reranker.js";

const FEATURES = ["noise", "signal", "against", "constant"];

/**
 * Candidates whose relevance follows a hidden rule (signal up, `against` down) plus noise, in a
 * shuffled order: the given order knows nothing, the rule is learnable by a linear ranker.
 */
function synthetic(seed: number, queries: number, candidates: number): RankingQuery[] {
  const rng = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  return Array.from({ length: queries }, (_, q) => {
    const features = new Float64Array(candidates * FEATURES.length);
    const labels: number[] = [];
    for (let i = 0; i < candidates; i++) {
      const noise = gauss();
      const signal = gauss() * 3 + 10;
      const against = gauss();
      features.set([noise, signal, against, 7], i * FEATURES.length);
      const latent = (signal - 10) / 3 - against + 0.3 * gauss();
      labels.push(latent > 1.2 ? 2 : latent > 0.6 ? 1 : 0);
    }
    return { id: `q${q}`, features, labels };
  });
}

describe("trainLinearRanker", () => {
  it("learns a ranking the given order does not know, on held-out queries", () => {
    const train = synthetic(1, 60, 50);
    const r = trainLinearRanker(train, FEATURES, { seed: 7 });
    const [noise, signal, against] = r.model.weights;
    expect(signal).toBeGreaterThan(0);
    expect(against).toBeLessThan(0);
    expect(Math.abs(noise!)).toBeLessThan(Math.abs(signal!) / 3);
    expect(r.validNdcg10).toBeGreaterThan(r.baselineValidNdcg10 + 0.3);
    // Queries it never saw: rerank by the model and compare with the given order.
    const fresh = synthetic(2, 30, 50);
    const mean = (f: (q: RankingQuery) => number) =>
      fresh.reduce((s, q) => s + f(q), 0) / fresh.length;
    const reranked = mean((q) => {
      const s = scoreLinearRanker(r.model, q.features);
      const order = Array.from(s.keys()).sort((a, b) => s[b]! - s[a]! || a - b);
      return ndcg10(order, q.labels);
    });
    const given = mean((q) =>
      ndcg10(
        Array.from(q.labels, (_, i) => i),
        q.labels,
      ),
    );
    expect(reranked).toBeGreaterThan(0.85);
    expect(given).toBeLessThan(0.5);
    // A constant feature cannot be standardised by 0: its std is 1, its weight stays at 0.
    expect(r.model.std[3]).toBe(1);
    expect(r.model.weights[3]).toBe(0);
    expect(r.validQueries).toBeGreaterThan(0);
    expect(r.trainQueries + r.validQueries).toBe(60);
  });

  it("gives the same bits for the same seed, and a different run for another seed", () => {
    const data = synthetic(3, 20, 30);
    const a = trainLinearRanker(data, FEATURES, { seed: 11, maxEpochs: 8 });
    const b = trainLinearRanker(data, FEATURES, { seed: 11, maxEpochs: 8 });
    expect(b.model.weights).toEqual(a.model.weights);
    expect(b.history).toEqual(a.history);
    const c = trainLinearRanker(data, FEATURES, { seed: 12, maxEpochs: 8 });
    expect(c.model.weights).not.toEqual(a.model.weights);
  });

  it("stops early on the validation loss and keeps its best epoch", () => {
    const r = trainLinearRanker(synthetic(4, 40, 40), FEATURES, {
      seed: 5,
      maxEpochs: 200,
      patience: 3,
      lr: 0.05,
    });
    expect(r.history.length).toBeLessThan(200);
    const best = Math.min(...r.history.map((h) => h.validLoss));
    expect(r.validLoss).toBe(best);
    expect(r.bestEpoch).toBeGreaterThan(0);
    expect(r.history[r.bestEpoch - 1]!.validLoss).toBe(r.validLoss);
    expect(r.history[r.bestEpoch - 1]!.validNdcg10).toBe(r.validNdcg10);
  });

  it("refuses data with nothing to learn from, naming why", () => {
    const flat: RankingQuery = { id: "q", features: new Float64Array(8), labels: [0, 0] };
    expect(() => trainLinearRanker([flat], ["a", "b", "c", "d"], { seed: 1 })).toThrow(
      RerankerDataError,
    );
    const bad: RankingQuery = { id: "q1", features: new Float64Array(3), labels: [1, 0] };
    expect(() => trainLinearRanker([bad], ["a", "b"], { seed: 1 })).toThrow(/q1: 3 feature values/);
  });
});

describe("ndcg10", () => {
  it("is 1 for the ideal order and lower for a worse one", () => {
    expect(ndcg10([0, 1, 2], [2, 1, 0])).toBe(1);
    expect(ndcg10([2, 1, 0], [2, 1, 0])).toBeLessThan(1);
    expect(ndcg10([0, 1], [0, 0])).toBe(0);
  });
});
