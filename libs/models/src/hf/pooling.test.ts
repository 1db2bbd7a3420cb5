import { describe, expect, it } from "vitest";
import { l2NormalizeInPlace, poolTokenVectors, sigmoid, softmax } from "./pooling.js";

describe("poolTokenVectors", () => {
  // Two rows of [3 positions, 2 dims]; the second row has one padded position.
  const hidden = Float32Array.from([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 99, 99]);

  it("means over real tokens only, ignoring padding", () => {
    const dst = new Float32Array(2);
    poolTokenVectors(hidden, 6, 2, 2, "mean", dst);
    expect(Array.from(dst)).toEqual([20, 30]);
  });

  it("takes [CLS] or the last real token", () => {
    const dst = new Float32Array(2);
    poolTokenVectors(hidden, 6, 2, 2, "cls", dst);
    expect(Array.from(dst)).toEqual([10, 20]);
    poolTokenVectors(hidden, 6, 2, 2, "last", dst);
    expect(Array.from(dst)).toEqual([30, 40]);
  });
});

describe("vector maths", () => {
  it("normalises to unit length and leaves zero vectors zero", () => {
    const v = Float32Array.from([3, 4]);
    l2NormalizeInPlace(v);
    expect(Array.from(v)).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    const zero = new Float32Array(3);
    l2NormalizeInPlace(zero);
    expect(Array.from(zero)).toEqual([0, 0, 0]);
  });

  it("computes stable softmax and sigmoid", () => {
    const p = softmax([1000, 1000]);
    expect(Array.from(p)).toEqual([0.5, 0.5]);
    expect(sigmoid([0])[0]).toBe(0.5);
  });
});
