import { describe, expect, it } from "vitest";
import { Lru } from "./lru.js";

describe("Lru", () => {
  it("evicts the least recently used entry, a read counting as a use, and says which", () => {
    const gone: string[] = [];
    const lru = new Lru<string, string>(2, (v) => gone.push(v));
    lru.set("a", "A");
    lru.set("b", "B");
    expect(lru.get("a")).toBe("A");
    lru.set("c", "C");
    expect(gone).toEqual(["B"]);
    expect(lru.get("b")).toBeUndefined();
    expect([...lru.values()]).toEqual(["A", "C"]);
    // Setting a key it holds refreshes it without evicting anything.
    lru.set("a", "A2");
    expect(gone).toEqual(["B"]);
    expect(lru.size).toBe(2);
    lru.delete("a");
    expect(lru.size).toBe(1);
    lru.clear();
    expect(lru.size).toBe(0);
  });

  it("refuses a capacity below 1", () => {
    expect(() => new Lru(0)).toThrow(/capacity 0/);
    expect(() => new Lru(Number.NaN)).toThrow(RangeError);
  });
});
