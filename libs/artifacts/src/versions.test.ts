import { describe, expect, it } from "vitest";
import { parseModelRef } from "./model-ref.js";
import { checkSegment, compareVersions, newestVersion } from "./versions.js";

describe("compareVersions", () => {
  it("orders numeric runs as numbers and is total", () => {
    const sorted = ["1.10.0", "1.9.2", "2", "1.0-rc1", "1.0.1", "2024-06-01", "2024-05-31"].sort(
      compareVersions,
    );
    expect(sorted).toEqual([
      "1.0-rc1",
      "1.0.1",
      "1.9.2",
      "1.10.0",
      "2",
      "2024-05-31",
      "2024-06-01",
    ]);
    expect(compareVersions("1.0", "1.0")).toBe(0);
  });

  it("picks the newest and nothing from nothing", () => {
    expect(newestVersion(["1.9.0", "1.10.0", "1.2"])).toBe("1.10.0");
    expect(newestVersion([])).toBeUndefined();
  });
});

describe("names and references", () => {
  it("accepts one safe path segment only", () => {
    expect(() => checkSegment("name", "bge-small_v1.5")).not.toThrow();
    for (const bad of ["", ".hidden", "a/b", "..", "a b", "a\u0000b"])
      expect(() => checkSegment("name", bad)).toThrow(RangeError);
  });

  it("parses name and name@version, naming the bad part", () => {
    expect(parseModelRef("emb")).toEqual({ name: "emb", version: "" });
    expect(parseModelRef("emb@1.10.0")).toEqual({ name: "emb", version: "1.10.0" });
    expect(parseModelRef("../x")).toMatch(/model name/);
    expect(parseModelRef("emb@")).toMatch(/version "" of emb/);
  });
});
