import { describe, expect, it } from "vitest";
import { ConfigError, env, parseEnv } from "./env.js";
import { parseSharedConfig } from "./shared.js";

describe("parseEnv", () => {
  it("applies defaults and coerces", () => {
    const v = parseEnv({ A_PORT: env.port(7000), A_FLAG: env.bool(false) }, { A_PORT: "8080" });
    expect(v).toEqual({ A_PORT: 8080, A_FLAG: false });
  });

  it("names the bad variable", () => {
    try {
      parseEnv({ TAILOR_X_PORT: env.port(1) }, { TAILOR_X_PORT: "eighty" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variables).toEqual(["TAILOR_X_PORT"]);
      expect((err as Error).message).toContain("TAILOR_X_PORT");
      expect((err as Error).message).toContain('"eighty"');
    }
  });

  it("rejects a bus prefix with dots", () => {
    expect(() => parseSharedConfig({ TAILOR_BUS_PREFIX: "a.b" })).toThrow(/TAILOR_BUS_PREFIX/);
  });

  it("treats empty strings as unset", () => {
    expect(parseSharedConfig({ TAILOR_NATS_URL: "" }).natsUrl).toBe("nats://127.0.0.1:4222");
  });
});
