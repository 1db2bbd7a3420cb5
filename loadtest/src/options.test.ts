import { describe, expect, it } from "vitest";
import { makeDoc, markerOf, mulberry32 } from "./corpus.js";
import { isLoopbackHost, OptionsError, parseOptions } from "./options.js";

describe("parseOptions", () => {
  it("reads flags and the environment", () => {
    const o = parseOptions(["--rate", "200", "--duration", "20", "--self-contained"], {
      TAILOR_BUS_PREFIX: "p1",
    });
    expect(o).toMatchObject({ rate: 200, durationS: 20, selfContained: true, busPrefix: "p1" });
  });

  it("names a bad option", () => {
    expect(() => parseOptions(["--tenants", "1.5"], {})).toThrow(/--tenants/);
    expect(() => parseOptions(["--bogus"], {})).toThrow(OptionsError);
  });

  it("refuses targets off this machine", () => {
    expect(() => parseOptions([], { TAILOR_NATS_URL: "nats://10.0.0.5:4222" })).toThrow(
      /TAILOR_NATS_URL.*loopback/,
    );
    expect(() =>
      parseOptions([], { TAILOR_RETRIEVAL_URL: "http://retrieval.example.com:7103" }),
    ).toThrow(/TAILOR_RETRIEVAL_URL/);
    expect(isLoopbackHost("[::1]")).toBe(true);
    expect(isLoopbackHost("127.1.2.3")).toBe(true);
    expect(isLoopbackHost("127.0.0.1.evil.com")).toBe(false);
  });
});

describe("makeDoc", () => {
  it("is about the asked size and carries its marker once", () => {
    const d = makeDoc("abcdef", 42, 3, 2000, mulberry32(1));
    expect(d.tenant).toBe("lt-abcdef-0");
    expect(d.text.length).toBeGreaterThanOrEqual(2000);
    expect(d.text.length).toBeLessThan(2100);
    expect(d.text.split(" ").filter((w) => w === markerOf("abcdef", 42))).toHaveLength(1);
  });
});
