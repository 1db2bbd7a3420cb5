import { serviceSpec } from "@tailor/config";
import { describe, expect, it } from "vitest";
import { DATA_PATH, withDependencies } from "./harness.js";

describe("harness service selection", () => {
  it("starts the data path and what it depends on, not the trainer or evaluator", () => {
    const s = withDependencies(DATA_PATH);
    expect([...s].sort()).toEqual(
      ["embedding", "ingestion", "model-server", "registry", "retrieval"].sort(),
    );
  });

  it("closes over dependencies transitively, each before its dependents", () => {
    const s = withDependencies(["trainer"]);
    // Everything but the embedding service, which the trainer reaches only through the bus.
    expect([...s].sort()).toEqual(
      ["evaluator", "ingestion", "model-server", "registry", "retrieval", "trainer"].sort(),
    );
    for (const [i, name] of s.entries())
      for (const d of serviceSpec(name).dependsOn)
        expect(s.indexOf(d), `${d} before ${name}`).toBeLessThan(i);
    expect(withDependencies(["registry"])).toEqual(["registry"]);
  });
});
