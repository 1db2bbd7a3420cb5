import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { GateSchema } from "@tailor/proto";
import { describe, expect, it } from "vitest";
import type { GateDefaults } from "./config.js";
import { effectiveGate, gateSpec } from "./gate.js";

const defaults: GateDefaults = {
  primaryMetric: "ndcg_cut_10",
  minGain: 0.005,
  maxPValue: 0.1,
  tolerance: 0.02,
  canaryWeight: 0.1,
};

function codeOf(fn: () => unknown): [Code, string] | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    const e = ConnectError.from(err);
    return [e.code, e.rawMessage];
  }
}

describe("effectiveGate", () => {
  it("fills unset (zero) fields from the defaults and keeps the ones given", () => {
    expect(effectiveGate(undefined, defaults, 10_000, 50)).toEqual({ ...defaults, rounds: 10_000 });
    const g = effectiveGate(
      create(GateSchema, { primaryMetric: "map", minGain: -0.001, canaryWeight: 0.5 }),
      defaults,
      10_000,
      50,
    );
    expect(g).toMatchObject({
      primaryMetric: "map",
      minGain: -0.001,
      maxPValue: 0.1,
      canaryWeight: 0.5,
    });
    expect(gateSpec(g).guarded).not.toContain("map");
    expect(gateSpec(g).alpha).toBe(0.1);
  });

  it("refuses bad fields, naming them", () => {
    const bad = (g: Parameters<typeof create<typeof GateSchema>>[1]) =>
      codeOf(() => effectiveGate(create(GateSchema, g), defaults, 10_000, 10));
    expect(bad({ primaryMetric: "accuracy" })).toEqual([
      Code.InvalidArgument,
      expect.stringMatching(/^gate\.primary_metric: must be one of map, ndcg_cut_10/),
    ]);
    expect(bad({ maxPValue: 1.5 })?.[1]).toMatch(/^gate\.max_p_value/);
    expect(bad({ tolerance: Number.NaN })?.[1]).toMatch(/^gate\.tolerance/);
    expect(bad({ canaryWeight: -0.1 })?.[1]).toMatch(/^gate\.canary_weight/);
    expect(bad({ minGain: 2 })?.[1]).toMatch(/^gate\.min_gain/);
  });

  it("lowers the test's rounds for very large sets so a comparison stays bounded", () => {
    expect(effectiveGate(undefined, defaults, 10_000, 100_000).rounds).toBe(1000);
    expect(effectiveGate(undefined, defaults, 10_000, 5000).rounds).toBe(5000);
  });
});
