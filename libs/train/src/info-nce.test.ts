import { mulberry32 } from "@tailor/models/random";
import { describe, expect, it } from "vitest";
import { type AdapterSpec, applyAdapter, parameterLayout } from "./adapter.js";
import { InfoNceBatch } from "./info-nce.js";

const D = 6;
const PAIRS = 5;

function randomVectors(rng: () => number, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = rng() * 2 - 1;
  return out;
}

/** Parameters away from the identity, with a non-zero residual branch so every path carries gradient. */
function randomParams(spec: AdapterSpec, rng: () => number): Float64Array {
  const p = randomVectors(rng, parameterLayout(spec).size);
  for (let i = 0; i < p.length; i++) p[i] = p[i]! * 0.5;
  if (spec.architecture.kind === "linear")
    for (let i = 0; i < D; i++) p[i * D + i] = p[i * D + i]! + 1;
  return p;
}

const SPECS: [string, AdapterSpec][] = [
  ["linear", { dims: D, architecture: { kind: "linear" } }],
  ["residual relu", { dims: D, architecture: { kind: "residual", hidden: 4, activation: "relu" } }],
  ["residual gelu", { dims: D, architecture: { kind: "residual", hidden: 4, activation: "gelu" } }],
];

describe("InfoNceBatch gradients", () => {
  for (const [label, spec] of SPECS) {
    for (const symmetric of [true, false]) {
      it(`match central finite differences (${label}, ${symmetric ? "symmetric" : "one-sided"})`, () => {
        const rng = mulberry32(label.length * 31 + (symmetric ? 1 : 0));
        const params = randomParams(spec, rng);
        const q = randomVectors(rng, PAIRS * D);
        const p = randomVectors(rng, PAIRS * D);
        const batch = new InfoNceBatch(spec, PAIRS, { temperature: 0.2, symmetric });
        const grad = new Float64Array(params.length);
        const loss = batch.run(params, q, p, PAIRS, grad);
        expect(loss).toBeGreaterThan(0);

        const eps = 1e-6;
        let worst = 0;
        let largest = 0;
        for (let i = 0; i < params.length; i++) {
          const keep = params[i]!;
          params[i] = keep + eps;
          const up = batch.run(params, q, p, PAIRS);
          params[i] = keep - eps;
          const down = batch.run(params, q, p, PAIRS);
          params[i] = keep;
          const numeric = (up - down) / (2 * eps);
          worst = Math.max(worst, Math.abs(numeric - grad[i]!) / Math.max(1e-3, Math.abs(numeric)));
          largest = Math.max(largest, Math.abs(grad[i]!));
        }
        // A vanishing gradient would pass trivially; demand a real one, then a close match.
        expect(largest).toBeGreaterThan(1e-2);
        expect(worst).toBeLessThan(1e-5);
      });
    }
  }

  it("gives different gradients for the symmetric and one-sided losses", () => {
    const spec = SPECS[1]![1];
    const rng = mulberry32(99);
    const params = randomParams(spec, rng);
    const q = randomVectors(rng, PAIRS * D);
    const p = randomVectors(rng, PAIRS * D);
    const batch = new InfoNceBatch(spec, PAIRS, { temperature: 0.2, symmetric: true });
    const grad = new Float64Array(params.length);
    batch.run(params, q, p, PAIRS, grad);
    // One-sided loss gradients differ from symmetric ones at some parameter.
    const oneSided = new InfoNceBatch(spec, PAIRS, { temperature: 0.2, symmetric: false });
    const other = new Float64Array(params.length);
    oneSided.run(params, q, p, PAIRS, other);
    let diff = 0;
    for (let i = 0; i < grad.length; i++) diff = Math.max(diff, Math.abs(grad[i]! - other[i]!));
    expect(diff).toBeGreaterThan(1e-3);
  });
});

describe("applyAdapter", () => {
  it("is the identity (after normalisation) at initialisation values", () => {
    const spec: AdapterSpec = { dims: 3, architecture: { kind: "linear" } };
    const params = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    const out = applyAdapter(spec, params, new Float32Array([3, 0, 4, 0, 0, 0]));
    expect(Array.from(out)).toEqual([0.6000000238418579, 0, 0.800000011920929, 0, 0, 0]);
  });
});
